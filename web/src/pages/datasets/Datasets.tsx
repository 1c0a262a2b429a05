// Datasets: upload with progress (CSV or JSON Lines; the same name makes a new version), list, and a dataset's
// page with its profile (per-column statistics and histograms), a schema editor (inferred from the data or written
// by hand), validation with the failing rows, and drift against a baseline version.
import { useRef, useState, type FormEvent } from 'react';
import { api, downloadBlob, saveBlob, upload, type Schemas, type UploadHandle } from '../../api/client';
import { Link, navigate, seg, withQuery } from '../../app/router';
import { useAuth } from '../../auth/session';
import { Histogram } from '../../components/Chart';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Field, Json, Notice, Page, Progress, SelectField, Table, TextField,
  confirmAction, describeError, formatBytes, formatDate, formatNumber, useAction, useAsync, useInterval,
} from '../../components/ui';
import { useRealtime } from '../../realtime/ws';

type Dataset = Schemas['Dataset'];
type DataSchema = Schemas['DataSchema'];
type Report = Schemas['ValidationReport'];
type ValidationRun = Schemas['ValidationRun'];
type DriftReport = Schemas['DriftReport'];
type SchemaField = NonNullable<DataSchema['fields']>[number];
type DataType = NonNullable<SchemaField['data_type']>;
type Constraint = Schemas['Constraint'];
type CleaningRule = Schemas['CleaningRule'];

/** One column of GET /datasets/{id}/outliers. */
interface OutlierColumn {
  name: string;
  outliers?: number;
  lower_fence?: number;
  upper_fence?: number;
  examples?: { row: number; value: unknown }[];
}

/** One column of GET /datasets/{id}/profile (the document types columns as plain objects). */
interface ColumnProfile {
  name: string;
  type?: string;
  count?: number;
  missing?: number;
  distinct?: number;
  mean?: number | null;
  std?: number | null;
  min?: number | string | null;
  max?: number | string | null;
  quantiles?: Record<string, number>;
  histogram?: { counts?: number[]; edges?: number[] };
  top_values?: { value: unknown; count: number }[];
}

/** One column of a drift report. */
interface DriftColumn {
  name: string;
  type?: string;
  drift?: boolean;
  ks_statistic?: number;
  ks_pvalue?: number;
  psi?: number;
  jensen_shannon?: number;
  linf?: number;
}

export function DatasetsPage() {
  const auth = useAuth();
  const [name, setName] = useState('');
  const [applied, setApplied] = useState('');
  const list = useAsync(
    (signal) => api.get('/api/v1/datasets', { signal, query: { name: applied || undefined, limit: 200 } }),
    [applied],
  );
  useRealtime(['datasets'], () => list.reload());
  return (
    <Page title="Datasets">
      {auth.can('datasets:write') && <UploadDataset onUploaded={(d) => navigate(`/datasets/${seg(d.id ?? '')}`)} />}
      <form
        className="filters"
        role="search"
        aria-label="Filter datasets"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(name.trim());
        }}
      >
        <TextField label="Dataset name" value={name} onChange={setName} />
        <Button type="submit">Filter</Button>
      </form>
      <AsyncView
        state={list}
        isEmpty={(d) => (d.items ?? []).length === 0}
        empty={applied ? 'No dataset has this name.' : 'No dataset yet. Upload a CSV or JSON Lines file.'}
      >
        {(d) => (
          <Table caption="Datasets">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Rows</th>
                <th scope="col">Columns</th>
                <th scope="col">Size</th>
                <th scope="col">Format</th>
                <th scope="col">Source</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {(d.items ?? []).map((x) => (
                <tr key={x.id}>
                  <th scope="row">
                    <Link to={`/datasets/${seg(x.id ?? '')}`}>{x.name}</Link>
                  </th>
                  <td>v{x.version}</td>
                  <td>{x.rows}</td>
                  <td>{x.column_count ?? (x.columns ?? []).length}</td>
                  <td>{formatBytes(x.size)}</td>
                  <td>{x.format}</td>
                  <td>{x.source}</td>
                  <td>{formatDate(x.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </AsyncView>
    </Page>
  );
}

function UploadDataset({ onUploaded }: { onUploaded: (d: Dataset) => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [delimiter, setDelimiter] = useState('');
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const handle = useRef<UploadHandle<unknown> | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) {
      setError('Choose a file first.');
      return;
    }
    const n = name.trim() || file.name.replace(/\.[^.]+$/, '');
    const jsonl = /\.(jsonl|ndjson)$/i.test(file.name);
    setError(null);
    setProgress({ loaded: 0, total: file.size });
    const h = upload(
      'post',
      '/api/v1/datasets',
      undefined as never,
      file,
      setProgress,
      { 'Content-Type': jsonl ? 'application/x-ndjson' : 'text/csv' },
      { name: n, delimiter: delimiter || undefined },
    );
    handle.current = h;
    try {
      onUploaded(await h.promise);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setProgress(null);
      handle.current = null;
    }
  }

  return (
    <Card title="Upload a dataset">
      <form onSubmit={submit} className="form-grid">
        <Field label="Data file" hint="CSV with a header row, or JSON Lines">
          {(id, d) => (
            <input
              id={id}
              type="file"
              accept=".csv,.tsv,.txt,.jsonl,.ndjson"
              aria-describedby={d}
              onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            />
          )}
        </Field>
        <TextField label="Dataset name" value={name} onChange={setName} hint="Empty: the file's name. An existing name makes a new version." />
        <TextField label="Delimiter" value={delimiter} onChange={setDelimiter} hint="Empty: comma" />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={!!progress}>
            Upload dataset
          </Button>
          {progress && <Button onClick={() => handle.current?.abort()}>Cancel</Button>}
        </div>
        {progress && <Progress value={progress.loaded} max={progress.total} label="Upload progress" />}
        <ErrorBox error={error} />
      </form>
    </Card>
  );
}

export function DatasetDetailPage({ id }: { id: string }) {
  const auth = useAuth();
  const ds = useAsync((signal) => api.get('/api/v1/datasets/{id}', { signal, path: { id } }), [id]);
  const profile = useAsync((signal) => api.get('/api/v1/datasets/{id}/profile', { signal, path: { id } }), [id]);
  const action = useAction();

  async function remove() {
    if (!confirmAction('Delete this dataset version? This cannot be undone.')) return;
    const ok = await action.run(() => api.delete('/api/v1/datasets/{id}', { path: { id } }).then(() => true));
    if (ok) navigate('/datasets');
  }
  async function download() {
    await action.run(async () => {
      const { blob, filename } = await downloadBlob('/api/v1/datasets/{id}/content', { id });
      const d = ds.data;
      saveBlob(blob, filename ?? `${d?.name ?? 'dataset'}-v${d?.version ?? ''}.${d?.format === 'jsonl' ? 'jsonl' : 'csv'}`);
    });
  }

  return (
    <Page
      title={ds.data ? `Dataset ${ds.data.name} v${ds.data.version}` : 'Dataset'}
      actions={
        <>
          {auth.can('training:run') && ds.data && (
            <Link className="btn btn-primary" to={withQuery('/training', { dataset: ds.data.name })}>
              Train a model
            </Link>
          )}
          <Button onClick={() => void download()}>Download</Button>
          {auth.can('datasets:write') && (
            <Button kind="danger" onClick={() => void remove()}>
              Delete
            </Button>
          )}
        </>
      }
    >
      <p>
        <Link to="/datasets">← All datasets</Link>
      </p>
      <ErrorBox error={action.error} />
      <AsyncView state={ds}>
        {(d) => (
          <Card>
            <dl className="kv kv-wide">
              <dt>Rows</dt>
              <dd>{d.rows}</dd>
              <dt>Columns</dt>
              <dd>{(d.columns ?? []).map((c) => `${c.name} (${c.type})`).join(', ')}</dd>
              <dt>Size</dt>
              <dd>{formatBytes(d.size)}</dd>
              <dt>Format</dt>
              <dd>
                {d.format}
                {d.format === 'csv' && d.delimiter && d.delimiter !== ',' ? ` (delimiter "${d.delimiter}")` : ''}
              </dd>
              <dt>SHA-256</dt>
              <dd className="mono small">{d.sha256}</dd>
              <dt>Created</dt>
              <dd>
                {formatDate(d.created_at)} by {d.created_by}
              </dd>
              {d.source === 'clean' && d.parent_id && (
                <>
                  <dt>Cleaned from</dt>
                  <dd>
                    <Link to={`/datasets/${seg(d.parent_id)}`}>the parent version</Link>
                    {cleanSummary(d.summary)}
                  </dd>
                </>
              )}
            </dl>
          </Card>
        )}
      </AsyncView>
      <Card title="Profile">
        <AsyncView state={profile}>{(p) => <ProfileView p={p} />}</AsyncView>
      </Card>
      {ds.data && <SchemaAndValidation key={ds.data.id} id={id} dataset={ds.data} />}
      {ds.data && <DriftCard key={`drift-${ds.data.id}`} id={id} dataset={ds.data} />}
      <div className="grid grid-2">
        <OutliersCard id={id} />
        {auth.can('datasets:write') && ds.data && <CleanCard id={id} dataset={ds.data} />}
      </div>
    </Page>
  );
}

function ProfileView({ p }: { p: Schemas['DatasetProfile'] }) {
  const columns = (p.columns ?? []) as unknown as ColumnProfile[];
  const quality = (p.quality ?? {}) as Record<string, unknown>;
  const completeness = typeof quality.completeness === 'number' ? quality.completeness : null;
  return (
    <>
      <p data-testid="profile-summary">
        {p.rows} rows · {p.duplicate_rows ?? 0} duplicate rows
        {completeness !== null ? ` · completeness ${formatNumber(completeness * 100)} %` : ''} · quality score{' '}
        <Badge tone={(p.quality_score ?? 0) >= 90 ? 'good' : 'bad'}>{formatNumber(p.quality_score)}</Badge>
      </p>
      <div className="grid">
        {columns.map((c) => (
          <section key={c.name} className="card column-profile" aria-label={`Column ${c.name}`}>
            <h3>
              {c.name} <Badge>{c.type ?? '?'}</Badge>
            </h3>
            <dl className="kv small">
              <dt>Count</dt>
              <dd>{c.count ?? '—'}</dd>
              <dt>Missing</dt>
              <dd>{c.missing ?? 0}</dd>
              <dt>Distinct</dt>
              <dd>{c.distinct ?? '—'}</dd>
              {typeof c.mean === 'number' && (
                <>
                  <dt>Mean ± std</dt>
                  <dd>
                    {formatNumber(c.mean)} ± {formatNumber(c.std ?? null)}
                  </dd>
                </>
              )}
              {c.min !== undefined && c.min !== null && (
                <>
                  <dt>Min / max</dt>
                  <dd>
                    {String(c.min)} / {String(c.max)}
                  </dd>
                </>
              )}
              {c.quantiles && c.quantiles['0.5'] !== undefined && (
                <>
                  <dt>Quartiles</dt>
                  <dd>{['0.25', '0.5', '0.75'].map((q) => formatNumber(c.quantiles?.[q])).join(' · ')}</dd>
                </>
              )}
            </dl>
            {c.histogram?.counts && c.histogram.edges && c.histogram.counts.length > 0 && (
              <Histogram title={`Histogram of ${c.name}`} edges={c.histogram.edges} counts={c.histogram.counts} />
            )}
            {!c.histogram?.counts?.length && (c.top_values ?? []).length > 0 && (
              <ul className="plain small" aria-label={`Top values of ${c.name}`}>
                {(c.top_values ?? []).slice(0, 8).map((t) => (
                  <li key={String(t.value)}>
                    {String(t.value)}: {t.count}
                  </li>
                ))}
              </ul>
            )}
          </section>
        ))}
      </div>
    </>
  );
}

const DATA_TYPES: DataType[] = ['string', 'integer', 'float', 'boolean', 'date', 'datetime', 'categorical', 'json'];

interface FieldDraft {
  name: string;
  data_type: DataType;
  required: boolean;
  nullable: boolean;
  /** The field's constraints as JSON text (a list of constraint objects). */
  constraints: string;
}

function toDraft(f: SchemaField): FieldDraft {
  return {
    name: f.name,
    data_type: f.data_type ?? 'string',
    required: f.required ?? true,
    nullable: f.nullable ?? true,
    constraints: JSON.stringify(f.constraints ?? []),
  };
}

function parseConstraints(text: string, where: string): Constraint[] {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() || '[]');
  } catch (e) {
    throw new Error(`${where}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(v)) throw new Error(`${where}: write a JSON list, e.g. [{"type": "range", "min": 0}]`);
  return v as Constraint[];
}

function SchemaAndValidation({ id, dataset }: { id: string; dataset: Dataset }) {
  const auth = useAuth();
  const [schemaName, setSchemaName] = useState(`${dataset.name ?? 'dataset'}-schema`);
  const [fields, setFields] = useState<FieldDraft[]>([]);
  const [tableConstraints, setTableConstraints] = useState('[]');
  const [report, setReport] = useState<Report | null>(null);
  const [source, setSource] = useState('');
  const [background, setBackground] = useState(false);
  const [runs, setRuns] = useState<string[]>(() => startedRuns.get(dataset.id ?? '') ?? []);
  const stored = useAsync((signal) => api.get('/api/v1/schemas', { signal }), []);
  const action = useAction();

  function schema(): DataSchema {
    return {
      name: schemaName.trim(),
      fields: fields.map((f, i) => ({
        name: f.name.trim(),
        data_type: f.data_type,
        required: f.required,
        nullable: f.nullable,
        constraints: parseConstraints(f.constraints, `Field ${i + 1} constraints`),
      })),
      constraints: parseConstraints(tableConstraints, 'Dataset constraints'),
    };
  }
  async function infer() {
    const s = await action.run(
      () => api.post('/api/v1/datasets/{id}/infer-schema', { path: { id }, body: { name: schemaName.trim() } }),
      (r) => `Inferred ${(r.fields ?? []).length} fields from the data. Edit them, then validate or save.`,
    );
    if (s) {
      setFields((s.fields ?? []).map(toDraft));
      setTableConstraints(JSON.stringify(s.constraints ?? []));
    }
  }
  async function save() {
    await action.run(
      () => api.post('/api/v1/schemas', { body: schema() }),
      (s) => `Saved schema ${s.name} version ${s.version}.`,
    );
  }
  async function validate(e: FormEvent) {
    e.preventDefault();
    setReport(null);
    const r = (await action.run(() =>
      api.post('/api/v1/datasets/{id}/validate', {
        path: { id },
        body: { ...(source ? { schema_name: source } : { schema: schema() }), ...(background ? { async: true } : {}) },
      }),
    )) as Report | ValidationRun | undefined;
    if (!r) return;
    // Large datasets (or "in the background") answer 202 with a run to follow.
    if ('status' in r && typeof r.id === 'string') {
      const runId = r.id;
      const next = [runId, ...runs.filter((x) => x !== runId)];
      startedRuns.set(dataset.id ?? '', next);
      setRuns(next);
      action.setNotice(`Validation run ${runId} started: its progress and report are below.`);
    } else {
      setReport(r as Report);
    }
  }
  const set = (i: number, patch: Partial<FieldDraft>) => setFields((fs) => fs.map((f, j) => (j === i ? { ...f, ...patch } : f)));

  return (
    <Card title="Schema and validation">
      <form onSubmit={validate}>
        <div className="row row-end">
          <TextField label="Schema name" value={schemaName} onChange={setSchemaName} />
          <Button onClick={() => void infer()} pending={action.pending}>
            Infer from the data
          </Button>
          <Button
            onClick={() => setFields((fs) => [...fs, { name: '', data_type: 'string', required: true, nullable: true, constraints: '[]' }])}
          >
            Add a field
          </Button>
        </div>
        {fields.length === 0 ? (
          <p className="muted">No field yet: infer them from the data or add them one by one.</p>
        ) : (
          <Table caption="Schema fields">
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Type</th>
                <th scope="col">Required</th>
                <th scope="col">Nullable</th>
                <th scope="col">Constraints (JSON)</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {fields.map((f, i) => (
                <tr key={i}>
                  <td>
                    <TextField label={`Field ${i + 1} name`} value={f.name} onChange={(v) => set(i, { name: v })} />
                  </td>
                  <td>
                    <SelectField label={`Field ${i + 1} type`} value={f.data_type} onChange={(v) => set(i, { data_type: v })} options={DATA_TYPES} />
                  </td>
                  <td>
                    <CheckField label={`Field ${i + 1} required`} checked={f.required} onChange={(v) => set(i, { required: v })} />
                  </td>
                  <td>
                    <CheckField label={`Field ${i + 1} nullable`} checked={f.nullable} onChange={(v) => set(i, { nullable: v })} />
                  </td>
                  <td className="wide-cell">
                    <TextField
                      label={`Field ${i + 1} constraints`}
                      value={f.constraints}
                      onChange={(v) => set(i, { constraints: v })}
                      placeholder='[{"type": "range", "min": 0}]'
                    />
                  </td>
                  <td>
                    <Button small kind="danger" onClick={() => setFields((fs) => fs.filter((_, j) => j !== i))} label={`Remove field ${i + 1}`}>
                      Remove
                    </Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        <TextField
          label="Dataset constraints (JSON)"
          value={tableConstraints}
          onChange={setTableConstraints}
          placeholder='[{"type": "row_count", "min": 1}]'
          hint='Rules over rows or the whole dataset, e.g. {"type": "compare", "a": "start", "op": "<", "b": "end"}'
        />
        <div className="row row-end">
          <SelectField
            label="Validate against"
            value={source}
            onChange={setSource}
            options={[
              { value: '', label: 'the schema above' },
              ...(stored.data?.items ?? []).map((x) => ({ value: x.name ?? '', label: `stored schema ${x.name} (v${x.version})` })),
            ]}
            hint={stored.error ? 'The stored schemas could not be listed: ' + describeError(stored.error) : undefined}
          />
          <CheckField label="Run in the background" checked={background} onChange={setBackground} />
        </div>
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Validate
          </Button>
          {auth.can('datasets:write') && (
            <Button onClick={() => void save()} pending={action.pending} disabled={fields.length === 0}>
              Save schema
            </Button>
          )}
        </div>
      </form>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      {report && <ValidationReport r={report} />}
      {runs.length > 0 && <ValidationRuns ids={runs} />}
    </Card>
  );
}

/** Validation runs started from this tab, per dataset version (the API has no list of runs; each is followed by id). */
const startedRuns = new Map<string, string[]>();

/** Follows validation runs: progress from dataset.validation.progress events and polling, then the report. */
function ValidationRuns({ ids }: { ids: string[] }) {
  const runs = useAsync((signal) => Promise.all(ids.map((id) => api.get('/api/v1/validations/{id}', { signal, path: { id } }))), [ids.join(',')]);
  const active = (runs.data ?? []).some((r) => r.status === 'queued' || r.status === 'running');
  useRealtime(['datasets'], (e) => {
    if (active && /^dataset\.valid/.test(e.type ?? '')) runs.reload();
  });
  useInterval(() => runs.reload(), active ? 1000 : null);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div data-testid="validation-runs">
      <h3>Validation runs</h3>
      <AsyncView state={runs}>
        {(list) => (
          <>
            <Table caption="Validation runs">
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Schema</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Result</th>
                  <th scope="col">Started</th>
                </tr>
              </thead>
              <tbody>
                {list.map((r) => {
                  const sc = (r.schema ?? {}) as { name?: string; version?: number };
                  return (
                    <tr key={r.id} data-testid={`validation-run-${r.id}`}>
                      <th scope="row" className="mono small">
                        {r.id}
                      </th>
                      <td>{sc.name ? `${sc.name}${sc.version ? ` v${sc.version}` : ''}` : 'inline'}</td>
                      <td>
                        <Badge tone={r.status === 'succeeded' ? 'good' : r.status === 'failed' ? 'bad' : 'info'}>{r.status}</Badge>
                      </td>
                      <td>
                        <Progress value={Math.round((r.progress ?? 0) * 100)} max={100} label={`Progress of run ${r.id}`} />
                      </td>
                      <td>
                        {r.error ? (
                          <span className="error-message">{r.error}</span>
                        ) : r.report ? (
                          <span className="row row-tight">
                            <Badge tone={r.report.is_valid ? 'good' : 'bad'}>{r.report.is_valid ? 'valid' : 'invalid'}</Badge>
                            <Button
                              small
                              onClick={() => setOpen(open === r.id ? null : r.id ?? null)}
                              label={`${open === r.id ? 'Hide report' : 'Show report'} of run ${r.id}`}
                            >
                              {open === r.id ? 'Hide report' : 'Show report'}
                            </Button>
                          </span>
                        ) : (
                          '—'
                        )}
                      </td>
                      <td>{formatDate(r.created_at)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </Table>
            {list
              .filter((r) => r.id === open && r.report)
              .map((r) => (
                <ValidationReport key={r.id} r={r.report as Report} />
              ))}
          </>
        )}
      </AsyncView>
    </div>
  );
}

export function ValidationReport({ r }: { r: Report }) {
  const issues = [
    ...(r.errors ?? []).map((e) => ({ ...e, level: 'error' as const })),
    ...(r.warnings ?? []).map((e) => ({ ...e, level: 'warning' as const })),
  ];
  const st = r.statistics;
  return (
    <div data-testid="validation-report">
      <h3>Validation report</h3>
      <p>
        <Badge tone={r.is_valid ? 'good' : 'bad'}>{r.is_valid ? 'valid' : 'invalid'}</Badge> quality score{' '}
        {formatNumber(r.quality_score)} · {st?.error_count ?? (r.errors ?? []).length} errors ·{' '}
        {st?.warning_count ?? (r.warnings ?? []).length} warnings
        {st?.rows !== undefined ? ` · ${st.rows_with_errors ?? 0} of ${st.rows} rows fail` : ''}
        {st?.truncated ? ' · the list of problems was truncated' : ''}
      </p>
      {issues.length > 0 && (
        <Table caption="Failing rows">
          <thead>
            <tr>
              <th scope="col">Row</th>
              <th scope="col">Field</th>
              <th scope="col">Rule</th>
              <th scope="col">Value</th>
              <th scope="col">Message</th>
              <th scope="col">Level</th>
            </tr>
          </thead>
          <tbody>
            {issues.slice(0, 500).map((e, i) => (
              <tr key={i}>
                <td>{e.row ?? 'dataset'}</td>
                <td>{e.field ?? '—'}</td>
                <td className="mono small">{e.code}</td>
                <td className="mono small">{e.value === undefined || e.value === null ? '—' : e.value}</td>
                <td>{e.message}</td>
                <td>
                  <Badge tone={e.level === 'error' ? 'bad' : 'info'}>{e.level}</Badge>
                </td>
              </tr>
            ))}
          </tbody>
        </Table>
      )}
      {(st?.rules ?? []).length > 0 && (
        <details>
          <summary>Statistics per rule</summary>
          <Json value={st?.rules} />
        </details>
      )}
    </div>
  );
}

function DriftCard({ id, dataset }: { id: string; dataset: Dataset }) {
  const [baseline, setBaseline] = useState((dataset.version ?? 1) > 1 ? `${dataset.name}@${(dataset.version ?? 2) - 1}` : `${dataset.name}@1`);
  const [result, setResult] = useState<DriftReport | null>(null);
  const action = useAction();
  async function run(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(() => api.post('/api/v1/datasets/{id}/drift', { path: { id }, body: { baseline: baseline.trim() } }));
    if (r) setResult(r);
  }
  const columns = (result?.columns ?? []) as unknown as DriftColumn[];
  return (
    <Card title="Drift against a baseline">
      <form onSubmit={run} className="row row-end">
        <TextField label="Baseline dataset" value={baseline} onChange={setBaseline} hint="an id, a name (its latest version) or name@version" />
        <Button type="submit" pending={action.pending}>
          Compare
        </Button>
      </form>
      <ErrorBox error={action.error} />
      {result && (
        <div data-testid="drift-report">
          <p>
            <Badge tone={result.verdict === 'no_drift' ? 'good' : 'bad'}>{result.verdict ?? '—'}</Badge> {result.drifted_columns ?? 0}{' '}
            drifted column(s) against {result.baseline}
          </p>
          <Table caption="Drift per column">
            <thead>
              <tr>
                <th scope="col">Column</th>
                <th scope="col">Drift</th>
                <th scope="col">KS statistic</th>
                <th scope="col">KS p-value</th>
                <th scope="col">PSI</th>
                <th scope="col">Jensen–Shannon</th>
                <th scope="col">L∞</th>
              </tr>
            </thead>
            <tbody>
              {columns.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td>
                    <Badge tone={c.drift ? 'bad' : 'good'}>{c.drift ? 'drift' : 'stable'}</Badge>
                  </td>
                  <td>{formatNumber(c.ks_statistic)}</td>
                  <td>{formatNumber(c.ks_pvalue)}</td>
                  <td>{formatNumber(c.psi)}</td>
                  <td>{formatNumber(c.jensen_shannon)}</td>
                  <td>{formatNumber(c.linf)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
      )}
    </Card>
  );
}

function OutliersCard({ id }: { id: string }) {
  const [method, setMethod] = useState<'iqr' | 'zscore'>('iqr');
  const [threshold, setThreshold] = useState('');
  const [applied, setApplied] = useState<{ method: string; threshold: string }>({ method: 'iqr', threshold: '' });
  const result = useAsync(
    (signal) =>
      api.get('/api/v1/datasets/{id}/outliers', {
        signal,
        path: { id },
        query: { method: applied.method, threshold: applied.threshold ? Number(applied.threshold) : undefined, max_examples: 5 },
      }),
    [id, applied],
  );
  return (
    <Card title="Outliers">
      <form
        className="row row-end"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ method, threshold });
        }}
      >
        <SelectField<'iqr' | 'zscore'>
          label="Method"
          value={method}
          onChange={setMethod}
          options={[
            { value: 'iqr', label: 'IQR fences' },
            { value: 'zscore', label: 'z-score' },
          ]}
        />
        <TextField label="Threshold" type="number" step="any" value={threshold} onChange={setThreshold} hint={method === 'iqr' ? 'IQR multiple (1.5)' : 'z (3)'} />
        <Button type="submit">Find</Button>
      </form>
      <AsyncView state={result}>
        {(r) => {
          const cols = ((r as { columns?: unknown }).columns ?? []) as OutlierColumn[];
          if (cols.length === 0) return <p className="muted">No numeric column.</p>;
          return (
            <Table caption="Outliers per column">
              <thead>
                <tr>
                  <th scope="col">Column</th>
                  <th scope="col">Outliers</th>
                  <th scope="col">Fences</th>
                  <th scope="col">Examples (row: value)</th>
                </tr>
              </thead>
              <tbody>
                {cols.map((c) => (
                  <tr key={c.name}>
                    <th scope="row">{c.name}</th>
                    <td>{c.outliers ?? 0}</td>
                    <td className="small">
                      {c.lower_fence !== undefined ? `${formatNumber(c.lower_fence)} – ${formatNumber(c.upper_fence)}` : '—'}
                    </td>
                    <td className="small">{(c.examples ?? []).map((x) => `${x.row}: ${String(x.value)}`).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          );
        }}
      </AsyncView>
    </Card>
  );
}

const CLEAN_EXAMPLE: CleaningRule[] = [{ op: 'trim' }, { op: 'deduplicate' }, { op: 'fill_missing', strategy: 'median' }];

function CleanCard({ id, dataset }: { id: string; dataset: Dataset }) {
  const [rules, setRules] = useState(JSON.stringify(CLEAN_EXAMPLE, null, 1));
  const [made, setMade] = useState<Dataset | null>(null);
  const action = useAction();
  async function submit(e: FormEvent) {
    e.preventDefault();
    let parsed: CleaningRule[];
    try {
      parsed = JSON.parse(rules) as CleaningRule[];
      if (!Array.isArray(parsed)) throw new Error('write a JSON list of rules');
    } catch (err) {
      action.setError('Rules: ' + (err instanceof Error ? err.message : String(err)));
      return;
    }
    const d = await action.run(() => api.post('/api/v1/datasets/{id}/clean', { path: { id }, body: { rules: parsed } }));
    if (d) setMade(d);
  }
  return (
    <Card title="Clean into a new version">
      <form onSubmit={submit}>
        <Field
          label="Cleaning rules (JSON)"
          hint="ops: trim, lowercase, uppercase, coerce, fill_missing, clip_outliers, drop_outliers, deduplicate, drop_invalid"
        >
          {(fid, d) => <textarea id={fid} rows={6} className="mono" aria-describedby={d} value={rules} onChange={(e) => setRules(e.target.value)} />}
        </Field>
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Clean {dataset.name} v{dataset.version}
          </Button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      {made && (
        <div className="state state-ok" role="status" data-testid="clean-summary">
          Made <Link to={`/datasets/${seg(made.id ?? '')}`}>{`${made.name} v${made.version}`}</Link>
          {cleanSummary(made.summary)}.
        </div>
      )}
    </Card>
  );
}

function cleanSummary(summary: unknown): string {
  const s = (summary ?? {}) as { input_rows?: number; output_rows?: number; rejected_rows?: number };
  if (s.input_rows === undefined) return '';
  return ` · ${s.input_rows} rows in, ${s.output_rows ?? '—'} out, ${s.rejected_rows ?? 0} rejected`;
}
