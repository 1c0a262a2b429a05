// One model: versions with stage transitions, integrity check and artifact download; aliases; rollback;
// uploading a new version; the history of transitions. Live: refreshes on registry events for this model.
import { useRef, useState, type FormEvent } from 'react';
import { api, downloadBlob, saveBlob, upload, type UploadHandle } from '../../api/client';
import { STAGES, type Model, type ModelVersion, type Stage, type VerifyReport } from '../../api/types';
import { Link, navigate, withQuery } from '../../app/router';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Field, Json, Notice, Page, Progress, SelectField, StageBadge, Table,
  TextField, confirmAction, formatBytes, formatDate, formatNumber, useAction, useAsync,
} from '../../components/ui';
import { useRealtime } from '../../realtime/ws';

export function ModelDetailPage({ name }: { name: string }) {
  const auth = useAuth();
  const model = useAsync((signal) => api.get('/api/v1/models/{name}', { path: { name }, signal }), [name]);
  const versions = useAsync(
    (signal) => api.get('/api/v1/models/{name}/versions', { path: { name }, query: { limit: 200 }, signal }),
    [name],
  );
  const transitions = useAsync(
    (signal) => api.get('/api/v1/models/{name}/transitions', { path: { name }, query: { limit: 50 }, signal }),
    [name],
  );
  const reloadAll = () => {
    model.reload();
    versions.reload();
    transitions.reload();
  };
  useRealtime(['models'], (e) => {
    const m = e.data?.model ?? e.data?.name;
    if (typeof m !== 'string' || m.toLowerCase() === name.toLowerCase()) reloadAll();
  });
  const deleteAction = useAction();

  async function deleteModel() {
    if (!confirmAction(`Delete model "${name}" with all its versions? This cannot be undone.`)) return;
    const ok = await deleteAction.run(() => api.delete('/api/v1/models/{name}', { path: { name } }).then(() => true));
    if (ok) navigate('/models');
  }

  return (
    <Page
      title={`Model ${name}`}
      actions={
        <>
          {auth.can('inference:predict') && (
            <Link className="btn" to={withQuery('/playground', { model: name })}>
              Try in playground
            </Link>
          )}
          {auth.can('models:deploy') && (
            <Link className="btn" to={withQuery('/deployments', { model: name })}>
              Deploy…
            </Link>
          )}
          {auth.can('models:write') && (
            <Button kind="danger" onClick={() => void deleteModel()} pending={deleteAction.pending}>
              Delete model
            </Button>
          )}
        </>
      }
    >
      <p>
        <Link to="/models">← All models</Link>
      </p>
      <ErrorBox error={deleteAction.error} />
      <AsyncView state={model}>
        {(m) => (
          <>
            <ModelSummary model={m} />
            {auth.can('models:write') && <EditModel model={m} onSaved={reloadAll} />}
          </>
        )}
      </AsyncView>
      <Card title="Versions">
        <AsyncView
          state={versions}
          isEmpty={(d) => (d.items ?? []).length === 0}
          empty="This model has no version yet. Upload one below."
        >
          {(d) => <VersionsTable name={name} versions={d.items ?? []} onChanged={reloadAll} />}
        </AsyncView>
      </Card>
      {auth.can('models:write') && <UploadVersion name={name} model={model.data} onUploaded={reloadAll} />}
      <div className="grid">
        {auth.can('models:deploy') && model.data && (
          <Aliases name={name} model={model.data} versions={versions.data?.items ?? []} onChanged={reloadAll} />
        )}
        {auth.can('models:deploy') && <Rollback name={name} onChanged={reloadAll} />}
      </div>
      <Card title="History">
        <AsyncView state={transitions} isEmpty={(d) => (d.items ?? []).length === 0} empty="No stage or alias change yet.">
          {(d) => (
            <Table caption="Stage and alias history">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Version</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Who</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {(d.items ?? []).map((t) => (
                  <tr key={t.id}>
                    <td>{formatDate(t.at)}</td>
                    <td>v{t.version}</td>
                    <td>{t.from || '—'}</td>
                    <td>{t.to}</td>
                    <td>{t.actor}</td>
                    <td>{t.reason || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </AsyncView>
      </Card>
    </Page>
  );
}

function ModelSummary({ model: m }: { model: Model }) {
  return (
    <Card>
      <dl className="kv kv-wide">
        <dt>Type</dt>
        <dd>{m.model_type}</dd>
        <dt>Framework</dt>
        <dd>{m.framework}</dd>
        <dt>Description</dt>
        <dd>{m.description || '—'}</dd>
        <dt>Owner</dt>
        <dd>{m.owner || '—'}</dd>
        <dt>Served version</dt>
        <dd data-testid="production-version">{m.production_version ? `v${m.production_version}` : 'none in production'}</dd>
        <dt>Latest version</dt>
        <dd>{m.latest_version ? `v${m.latest_version}` : '—'}</dd>
        <dt>Aliases</dt>
        <dd>
          {Object.keys(m.aliases ?? {}).length === 0
            ? '—'
            : Object.entries(m.aliases ?? {}).map(([a, v]) => <Badge key={a}>{`${a} → v${v}`}</Badge>)}
        </dd>
        <dt>Tags</dt>
        <dd>
          {Object.keys(m.tags ?? {}).length === 0
            ? '—'
            : Object.entries(m.tags ?? {}).map(([k, v]) => <Badge key={k}>{v ? `${k}=${v}` : k}</Badge>)}
        </dd>
        <dt>Created</dt>
        <dd>{formatDate(m.created_at)}</dd>
      </dl>
    </Card>
  );
}

function EditModel({ model: m, onSaved }: { model: Model; onSaved: () => void }) {
  const [open, setOpen] = useState(false);
  const [newName, setNewName] = useState(m.name ?? '');
  const [description, setDescription] = useState(m.description ?? '');
  const [tags, setTags] = useState(
    Object.entries(m.tags ?? {})
      .map(([k, v]) => (v ? `${k}=${v}` : k))
      .join(', '),
  );
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const tagMap: Record<string, string> = {};
    for (const t of tags.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [k, ...v] = t.split('=');
      tagMap[k.trim()] = v.join('=').trim();
    }
    const renamed = newName.trim() !== m.name;
    const r = await action.run(
      () =>
        api.patch('/api/v1/models/{name}', {
          path: { name: m.name ?? '' },
          body: { description, tags: tagMap, ...(renamed ? { name: newName.trim() } : {}) },
        }),
      'Saved.',
    );
    if (!r) return;
    if (renamed) navigate(`/models/${encodeURIComponent(r.name ?? newName.trim())}`, { replace: true });
    else onSaved();
  }

  if (!open) {
    return (
      <p>
        <Button small onClick={() => setOpen(true)}>
          Edit name, description or tags
        </Button>
      </p>
    );
  }
  return (
    <Card title="Edit model">
      <form onSubmit={submit} className="form-grid">
        <TextField label="Model name" value={newName} onChange={setNewName} required />
        <TextField label="Model description" value={description} onChange={setDescription} />
        <TextField label="Model tags" value={tags} onChange={setTags} hint="key=value, comma separated" />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Save
          </Button>
          <Button onClick={() => setOpen(false)}>Close</Button>
        </div>
        <ErrorBox error={action.error} />
        <Notice>{action.notice}</Notice>
      </form>
    </Card>
  );
}

function VersionsTable({ name, versions, onChanged }: { name: string; versions: ModelVersion[]; onChanged: () => void }) {
  const auth = useAuth();
  const [open, setOpen] = useState<number | null>(null);
  return (
    <Table caption="Versions">
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Stage</th>
          <th scope="col">Metrics</th>
          <th scope="col">Size</th>
          <th scope="col">Source</th>
          <th scope="col">Created</th>
          <th scope="col">Integrity</th>
          <th scope="col">Actions</th>
        </tr>
      </thead>
      <tbody>
        {versions.map((v) => (
          <VersionRow
            key={v.version}
            name={name}
            v={v}
            canStage={auth.can('models:deploy')}
            canVerify={auth.can('models:write')}
            open={open === v.version}
            toggle={() => setOpen((o) => (o === v.version ? null : v.version ?? null))}
            onChanged={onChanged}
          />
        ))}
      </tbody>
    </Table>
  );
}

function VersionRow({
  name, v, canStage, canVerify, open, toggle, onChanged,
}: {
  name: string;
  v: ModelVersion;
  canStage: boolean;
  canVerify: boolean;
  open: boolean;
  toggle: () => void;
  onChanged: () => void;
}) {
  const [stage, setStage] = useState<Stage>(v.stage ?? 'none');
  const [archiveExisting, setArchiveExisting] = useState(true);
  const [report, setReport] = useState<VerifyReport | null>(null);
  const action = useAction();
  const version = String(v.version);

  async function applyStage() {
    const r = await action.run(
      () => api.post('/api/v1/models/{name}/versions/{version}/stage', {
        path: { name, version },
        body: { stage, ...(stage === 'production' ? { archive_existing: archiveExisting } : {}) },
      }),
      `Version ${version} is now in ${stage}.`,
    );
    if (r) onChanged();
  }
  async function verify() {
    const r = await action.run(() => api.post('/api/v1/models/{name}/versions/{version}/verify', { path: { name, version } }));
    if (r) {
      setReport(r);
      onChanged();
    }
  }
  async function download() {
    await action.run(async () => {
      const { blob, filename } = await downloadBlob('/api/v1/models/{name}/versions/{version}/artifact', { name, version });
      saveBlob(blob, filename ?? `${name}-v${version}`);
    });
  }

  const metrics = Object.entries(v.metrics ?? {});
  return (
    <>
      <tr data-testid={`version-${version}`}>
        <th scope="row">
          v{version}
          {(v.aliases ?? []).map((a) => (
            <Badge key={a}>{a}</Badge>
          ))}
        </th>
        <td>
          <StageBadge stage={v.stage} />
        </td>
        <td className="small">
          {metrics.length === 0 ? '—' : metrics.map(([k, x]) => `${k}: ${formatNumber(x)}`).join(', ')}
        </td>
        <td>{formatBytes(v.size)}</td>
        <td>
          {v.source === 'training' && v.source_id ? <Link to={`/training/${encodeURIComponent(v.source_id)}`}>training job</Link> : v.source}
        </td>
        <td>{formatDate(v.created_at)}</td>
        <td>
          {v.verified_ok === true ? (
            <Badge tone="good">verified</Badge>
          ) : v.verified_ok === false ? (
            <Badge tone="bad">failed</Badge>
          ) : (
            <span className="muted">not checked</span>
          )}
          {v.artifact_present === false && <Badge tone="muted">artifact removed</Badge>}
        </td>
        <td>
          <div className="row row-tight">
            <Button small onClick={toggle} label={`${open ? 'Hide' : 'Details'} of version ${version}`}>
              {open ? 'Hide' : 'Details'}
            </Button>
            {canVerify && (
              <Button small onClick={() => void verify()} pending={action.pending} label={`Verify version ${version}`}>
                Verify
              </Button>
            )}
            <Button small onClick={() => void download()} label={`Download version ${version}`}>
              Download
            </Button>
          </div>
        </td>
      </tr>
      {(open || action.error || action.notice || report) && (
        <tr className="detail-row">
          <td colSpan={8}>
            <ErrorBox error={action.error} />
            <Notice>{action.notice}</Notice>
            {report && (
              <div className={report.ok ? 'state state-ok' : 'state state-error'} role="status">
                Integrity check: {report.ok ? 'OK' : 'FAILED'} · loads: {report.loads ? 'yes' : 'no'}
                {report.problem ? ` · ${report.problem}` : ''} · expected sha256 {report.expected_sha256}
              </div>
            )}
            {open && (
              <div className="version-detail">
                {canStage && (
                  <div className="row row-end">
                    <SelectField label={`Stage of version ${version}`} value={stage} onChange={setStage} options={STAGES} />
                    {stage === 'production' && (
                      <CheckField label="Archive the current production version" checked={archiveExisting} onChange={setArchiveExisting} />
                    )}
                    <Button kind="primary" onClick={() => void applyStage()} pending={action.pending} disabled={stage === v.stage}>
                      Apply stage
                    </Button>
                  </div>
                )}
                <dl className="kv">
                  <dt>SHA-256</dt>
                  <dd className="mono small">{v.sha256}</dd>
                  <dt>Framework</dt>
                  <dd>{v.framework}</dd>
                  <dt>Created by</dt>
                  <dd>{v.created_by}</dd>
                  <dt>Stage changed</dt>
                  <dd>{formatDate(v.stage_changed_at)}</dd>
                  <dt>Verified</dt>
                  <dd>{formatDate(v.verified_at)}</dd>
                </dl>
                <h3>Signature</h3>
                <Json value={v.signature ?? null} label="Signature" />
                {Object.keys(v.params ?? {}).length > 0 && (
                  <>
                    <h3>Parameters</h3>
                    <Json value={v.params} label="Parameters" />
                  </>
                )}
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

const SIGNATURE_EXAMPLE = {
  signature: {
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [{ name: 'output', datatype: 'FP32', shape: [-1, 3] }],
  },
  metrics: {},
  description: '',
};

function UploadVersion({ name, model, onUploaded }: { name: string; model?: Model; onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [metadata, setMetadata] = useState('');
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const handle = useRef<UploadHandle<unknown> | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const needsSignature = model?.framework === 'torchscript' || model?.framework === 'onnx' || model?.framework === 'torch';

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) {
      setError('Choose an artifact file first.');
      return;
    }
    const form = new FormData();
    form.append('artifact', file, file.name);
    if (metadata.trim()) {
      try {
        JSON.parse(metadata);
      } catch (err) {
        setError('Metadata is not valid JSON: ' + (err instanceof Error ? err.message : String(err)));
        return;
      }
      form.append('metadata', new Blob([metadata], { type: 'application/json' }));
    }
    setError(null);
    setDone(null);
    setProgress({ loaded: 0, total: file.size });
    const h = upload('post', '/api/v1/models/{name}/versions', { name }, form, setProgress);
    handle.current = h;
    try {
      const v = await h.promise;
      setDone(`Uploaded version ${v.version} (${formatBytes(v.size)}, sha256 ${(v.sha256 ?? '').slice(0, 12)}…).`);
      setFile(null);
      if (fileInput.current) fileInput.current.value = '';
      onUploaded();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      handle.current = null;
      setProgress(null);
    }
  }

  return (
    <Card title="Upload a version">
      <form onSubmit={submit} className="form-grid">
        <Field label="Artifact file" hint="TorchScript (.pt), ONNX (.onnx), XGBoost (.json/.ubj) or a C19 AI bundle">
          {(id, d) => (
            <input
              id={id}
              ref={fileInput}
              type="file"
              aria-describedby={d}
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        <Field
          label="Metadata (JSON, optional)"
          hint={needsSignature ? 'This framework needs a signature: see the example.' : 'signature, metrics, params, description, tags'}
        >
          {(id, d) => (
            <textarea
              id={id}
              rows={6}
              className="mono"
              aria-describedby={d}
              value={metadata}
              placeholder='{"metrics": {"accuracy": 0.93}}'
              onChange={(e) => setMetadata(e.target.value)}
            />
          )}
        </Field>
        <div className="form-actions">
          <Button onClick={() => setMetadata(JSON.stringify(SIGNATURE_EXAMPLE, null, 2))}>Insert example metadata</Button>
          <Button type="submit" kind="primary" pending={!!progress}>
            Upload
          </Button>
          {progress && <Button onClick={() => handle.current?.abort()}>Cancel</Button>}
        </div>
        {progress && <Progress value={progress.loaded} max={progress.total} label="Upload progress" />}
        <ErrorBox error={error} />
        <Notice>{done}</Notice>
      </form>
    </Card>
  );
}

function Aliases({ name, model, versions, onChanged }: { name: string; model: Model; versions: ModelVersion[]; onChanged: () => void }) {
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const action = useAction();
  const options = versions.map((v) => ({ value: String(v.version), label: `v${v.version} (${v.stage})` }));

  async function set(e: FormEvent) {
    e.preventDefault();
    const v = version || options[0]?.value;
    if (!v) return;
    const r = await action.run(
      () => api.put('/api/v1/models/{name}/aliases/{alias}', { path: { name, alias: alias.trim() }, body: { version: Number(v) } }),
      `Alias ${alias.trim()} now points at v${v}.`,
    );
    if (r !== undefined) {
      setAlias('');
      onChanged();
    }
  }
  async function remove(a: string) {
    if (!confirmAction(`Remove alias "${a}"?`)) return;
    const r = await action.run(
      () => api.delete('/api/v1/models/{name}/aliases/{alias}', { path: { name, alias: a } }).then(() => true),
      `Alias ${a} removed.`,
    );
    if (r) onChanged();
  }

  return (
    <Card title="Aliases">
      {Object.keys(model.aliases ?? {}).length === 0 ? (
        <p className="muted">No alias.</p>
      ) : (
        <ul className="plain">
          {Object.entries(model.aliases ?? {}).map(([a, v]) => (
            <li key={a}>
              <strong>{a}</strong> → v{v}{' '}
              <Button small kind="danger" onClick={() => void remove(a)} label={`Remove alias ${a}`}>
                Remove
              </Button>
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={set} className="row row-end">
        <TextField label="Alias" value={alias} onChange={setAlias} required placeholder="champion" />
        <SelectField label="Version" value={version || options[0]?.value || ''} onChange={setVersion} options={options} />
        <Button type="submit" pending={action.pending} disabled={options.length === 0}>
          Set alias
        </Button>
      </form>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
    </Card>
  );
}

function Rollback({ name, onChanged }: { name: string; onChanged: () => void }) {
  const [version, setVersion] = useState('');
  const [reason, setReason] = useState('');
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!confirmAction(version ? `Promote version ${version} to production?` : 'Roll back to the previous production version?')) return;
    const r = await action.run(
      () => api.post('/api/v1/models/{name}/rollback', {
        path: { name },
        body: { ...(version ? { version: Number(version) } : {}), ...(reason ? { reason } : {}) },
      }),
      (v) => `Version ${v.version} is in production now.`,
    );
    if (r) onChanged();
  }

  return (
    <Card title="Roll back">
      <form onSubmit={submit} className="form-grid">
        <TextField
          label="Version (optional)"
          value={version}
          onChange={setVersion}
          type="number"
          min={1}
          hint="Empty: the version that was in production before the current one"
        />
        <TextField label="Reason" value={reason} onChange={setReason} />
        <div className="form-actions">
          <Button type="submit" kind="danger" pending={action.pending}>
            Roll back
          </Button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
    </Card>
  );
}

