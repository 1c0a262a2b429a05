// Models: search the registry and register a new model.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { FRAMEWORKS, MODEL_TYPES, STAGES, type NewModel, type Stage } from '../../api/types';
import { Link, navigate, seg } from '../../app/router';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Button, Card, ErrorBox, Page, SelectField, StageBadge, Table, TextField, formatDate, useAction, useAsync,
} from '../../components/ui';
import { useRealtime } from '../../realtime/ws';

type ModelType = NonNullable<NewModel['model_type']>;
type Framework = NonNullable<NewModel['framework']>;

export function ModelsPage() {
  const auth = useAuth();
  const [q, setQ] = useState('');
  const [type, setType] = useState('');
  const [framework, setFramework] = useState('');
  const [stage, setStage] = useState('');
  const [applied, setApplied] = useState({ q: '', type: '', framework: '', stage: '' });
  const [pageToken, setPageToken] = useState<string | undefined>(undefined);
  const [showCreate, setShowCreate] = useState(false);

  const list = useAsync(
    (signal) =>
      api.get('/api/v1/models', {
        signal,
        query: {
          q: applied.q || undefined,
          model_type: applied.type || undefined,
          framework: applied.framework || undefined,
          stage: (applied.stage || undefined) as Stage | undefined,
          limit: 50,
          page_token: pageToken,
        },
      }),
    [applied, pageToken],
  );
  useRealtime(['models'], () => list.reload());

  function search(e: FormEvent) {
    e.preventDefault();
    setPageToken(undefined);
    setApplied({ q, type, framework, stage });
  }

  return (
    <Page
      title="Models"
      actions={
        auth.can('models:write') && (
          <Button kind="primary" onClick={() => setShowCreate((s) => !s)}>
            {showCreate ? 'Close' : 'Register a model'}
          </Button>
        )
      }
    >
      {showCreate && <CreateModel />}
      <form className="filters" onSubmit={search} role="search" aria-label="Search models">
        <TextField label="Search" value={q} onChange={setQ} placeholder="name, description or tag" />
        <SelectField label="Type" value={type} onChange={setType} options={[{ value: '', label: 'any' }, ...MODEL_TYPES]} />
        <SelectField
          label="Framework"
          value={framework}
          onChange={setFramework}
          options={[{ value: '', label: 'any' }, ...FRAMEWORKS]}
        />
        <SelectField label="Stage" value={stage} onChange={setStage} options={[{ value: '', label: 'any' }, ...STAGES]} />
        <Button type="submit">Search</Button>
      </form>
      <AsyncView
        state={list}
        isEmpty={(d) => (d.items ?? []).length === 0}
        empty={applied.q || applied.type || applied.framework || applied.stage ? 'No model matches.' : 'No model is registered yet.'}
      >
        {(d) => (
          <>
            <Table caption="Models">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Type</th>
                  <th scope="col">Framework</th>
                  <th scope="col">Versions</th>
                  <th scope="col">Production</th>
                  <th scope="col">Owner</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {(d.items ?? []).map((m) => (
                  <tr key={m.id ?? m.name}>
                    <td>
                      <Link to={`/models/${seg(m.name ?? '')}`}>{m.name}</Link>
                      {m.description ? <div className="muted small">{m.description}</div> : null}
                    </td>
                    <td>{m.model_type}</td>
                    <td>{m.framework}</td>
                    <td>{m.version_count ?? 0}</td>
                    <td>{m.production_version ? <StageBadge stage="production" /> : '—'} {m.production_version ? `v${m.production_version}` : ''}</td>
                    <td>{m.owner}</td>
                    <td>{formatDate(m.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <div className="row">
              {pageToken && <Button onClick={() => setPageToken(undefined)}>First page</Button>}
              {d.next_page_token && <Button onClick={() => setPageToken(d.next_page_token ?? undefined)}>Next page</Button>}
            </div>
          </>
        )}
      </AsyncView>
    </Page>
  );
}

function CreateModel() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [modelType, setModelType] = useState<ModelType>('classification');
  const [framework, setFramework] = useState<Framework>('xgboost');
  const [tags, setTags] = useState('');
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const tagMap: Record<string, string> = {};
    for (const t of tags.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [k, ...v] = t.split('=');
      tagMap[k.trim()] = v.join('=').trim();
    }
    const m = await action.run(() =>
      api.post('/api/v1/models', { body: { name: name.trim(), description, model_type: modelType, framework, tags: tagMap } }),
    );
    if (m) navigate(`/models/${seg(m.name ?? name)}`);
  }

  return (
    <Card title="Register a model">
      <form onSubmit={submit} className="form-grid">
        <TextField label="Name" value={name} onChange={setName} required hint="Letters, digits, '.', '_' and '-'" />
        <TextField label="Description" value={description} onChange={setDescription} />
        <SelectField label="Model type" value={modelType} onChange={setModelType} options={MODEL_TYPES} />
        <SelectField label="Framework" value={framework} onChange={setFramework} options={FRAMEWORKS} />
        <TextField label="Tags" value={tags} onChange={setTags} hint="key=value, comma separated" />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Register
          </Button>
        </div>
        <ErrorBox error={action.error} />
      </form>
    </Card>
  );
}
