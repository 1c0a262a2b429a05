// Storage administration (system:admin): registry retention (remove the artifacts of versions archived longer than
// a duration, listed first as a dry run) and storage replications (copy every object under a prefix to another
// backend in the background, followed until done).
import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../../api/client';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, SelectField, Table, TextField, confirmAction, formatBytes,
  formatDate, useAction, useAsync, useInterval,
} from '../../components/ui';

type Replication = Schemas['Replication'];
type RetentionResult = { dry_run?: boolean; versions?: { model?: string; version?: number }[]; bytes?: number };

export function StoragePage() {
  return (
    <Page title="Storage and retention">
      <RetentionCard />
      <ReplicationsCard />
    </Page>
  );
}

function RetentionCard() {
  const [olderThan, setOlderThan] = useState('90d');
  const [dryRun, setDryRun] = useState(true);
  const [result, setResult] = useState<RetentionResult | null>(null);
  const action = useAction();

  async function apply(e: FormEvent) {
    e.preventDefault();
    if (!dryRun && !confirmAction(`Remove the artifacts of every version archived for longer than ${olderThan}? Their metadata is kept.`)) return;
    setResult(null);
    const r = await action.run(
      () => api.post('/api/v1/registry/retention', { body: { older_than: olderThan.trim(), dry_run: dryRun } }),
      undefined,
      ['older_than', 'dry_run'],
    );
    if (r) setResult(r);
  }

  const versions = result?.versions ?? [];
  return (
    <Card title="Registry retention">
      <p className="muted small">
        Removes the artifacts of model versions archived for longer than a duration; their metadata, history and lineage stay.
        A dry run only lists them.
      </p>
      <form onSubmit={apply} noValidate>
        <div className="row row-end">
          <TextField
            label="Archived for longer than"
            value={olderThan}
            onChange={setOlderThan}
            hint="A duration such as 90d, 12h or 30m"
            error={action.fieldError('older_than')}
          />
          <CheckField label="Dry run (only list the versions)" checked={dryRun} onChange={setDryRun} />
          <Button type="submit" kind={dryRun ? 'primary' : 'danger'} pending={action.pending}>
            {dryRun ? 'List versions' : 'Remove artifacts'}
          </Button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      {result && (
        <div data-testid="retention-result">
          <p>
            <Badge tone={result.dry_run ? 'info' : 'good'}>{result.dry_run ? 'dry run' : 'applied'}</Badge>{' '}
            {versions.length === 0
              ? 'No archived version is older than that.'
              : `${versions.length} version(s), ${formatBytes(result.bytes ?? 0)} ${result.dry_run ? 'would be freed' : 'freed'}.`}
          </p>
          {versions.length > 0 && (
            <Table caption="Versions whose artifacts are removed">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Version</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v, i) => (
                  <tr key={i}>
                    <td>{v.model}</td>
                    <td>v{v.version}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
        </div>
      )}
    </Card>
  );
}

function ReplicationsCard() {
  const stats = useAsync((signal) => api.get('/api/v1/storage/stats', { signal }), []);
  const list = useAsync((signal) => api.get('/api/v1/storage/replications', { signal }), []);
  const backends = stats.data?.backends ?? [];
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [prefix, setPrefix] = useState('');
  const action = useAction();
  const fromValue = from || stats.data?.primary || backends[0] || '';
  const toValue = to || backends.find((b) => b !== fromValue) || fromValue;
  const running = (list.data?.items ?? []).some((r) => r.status === 'running');
  useInterval(() => list.reload(), running ? 2000 : null);

  async function start(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(
      () =>
        api.post('/api/v1/storage/replications', {
          body: { from_backend: fromValue, to_backend: toValue, ...(prefix.trim() ? { prefix: prefix.trim() } : {}) },
        }),
      (x) => `Replication ${x.id} started.`,
      ['from_backend', 'to_backend', 'prefix'],
    );
    if (r) list.reload();
  }

  return (
    <Card title="Replications">
      <p className="muted small">
        Copies every object under a prefix from one storage backend to another, in the background; an interrupted copy resumes
        from its cursor.
      </p>
      {stats.error ? (
        <ErrorBox error={stats.error} onRetry={stats.reload} />
      ) : (
        <form onSubmit={start}>
          <div className="row row-end">
            <SelectField label="From backend" value={fromValue} onChange={setFrom} options={backends.length ? backends : [fromValue]} error={action.fieldError('from_backend')} />
            <SelectField label="To backend" value={toValue} onChange={setTo} options={backends.length ? backends : [toValue]} error={action.fieldError('to_backend')} />
            <TextField label="Prefix" value={prefix} onChange={setPrefix} placeholder="files/reports/" hint="Namespace-qualified; empty: everything" error={action.fieldError('prefix')} />
            <Button type="submit" kind="primary" pending={action.pending}>
              Start replication
            </Button>
          </div>
          {backends.length < 2 && stats.data && (
            <p className="muted small">This server has one storage backend ({backends.join(', ')}): configure another to replicate to it.</p>
          )}
        </form>
      )}
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={list} isEmpty={(d) => (d.items ?? []).length === 0} empty="No replication has run yet.">
        {(d) => <ReplicationsTable items={d.items ?? []} />}
      </AsyncView>
    </Card>
  );
}

function ReplicationsTable({ items }: { items: Replication[] }) {
  return (
    <Table caption="Replications">
      <thead>
        <tr>
          <th scope="col">From → to</th>
          <th scope="col">Prefix</th>
          <th scope="col">Status</th>
          <th scope="col">Copied</th>
          <th scope="col">Skipped</th>
          <th scope="col">Failed</th>
          <th scope="col">Bytes</th>
          <th scope="col">Cursor</th>
          <th scope="col">Started</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr key={r.id} data-testid={`replication-${r.id}`}>
            <th scope="row">
              {r.from_backend} → {r.to_backend}
            </th>
            <td className="mono small">{r.prefix || '(everything)'}</td>
            <td>
              <Badge tone={r.status === 'completed' ? 'good' : r.status === 'failed' ? 'bad' : r.status === 'running' ? 'info' : 'muted'}>
                {r.status}
              </Badge>
              {r.error && <span className="error-message"> {r.error}</span>}
            </td>
            <td>{r.copied ?? 0}</td>
            <td>{r.skipped ?? 0}</td>
            <td>{r.failed ?? 0}</td>
            <td>{formatBytes(r.bytes ?? 0)}</td>
            <td className="mono small">{r.cursor || '—'}</td>
            <td>{formatDate(r.created_at)}</td>
            <td>{formatDate(r.updated_at)}</td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
