// Deployments: what is loaded for serving, deploy with batching settings, undeploy, and live latency and
// throughput charts computed from the server's inference metrics.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import { fetchMetrics, inferenceTotals, parsePrometheus, type InferenceTotals } from '../api/metrics';
import type { Schemas } from '../api/client';
import { Link, seg, useLocation } from '../app/router';
import { useAuth } from '../auth/session';
import { LineChart, type Series } from '../components/Chart';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, SelectField, Table, TextField, confirmAction, formatBytes,
  formatDate, useAction, useAsync, useInterval,
} from '../components/ui';
import { useRealtime } from '../realtime/ws';

type Deployment = Schemas['Deployment'];
type Spec = Schemas['DeploymentSpec'];

export function DeploymentsPage() {
  const auth = useAuth();
  const loc = useLocation();
  const list = useAsync((signal) => api.get('/api/v1/deployments', { signal }), []);
  useRealtime(['deployments'], () => list.reload());
  useInterval(() => list.reload(), 5000);
  const [editing, setEditing] = useState<{ model: string; spec?: Spec } | null>(
    loc.query.get('model') ? { model: loc.query.get('model') ?? '' } : null,
  );
  const action = useAction();

  async function undeploy(name: string) {
    if (!confirmAction(`Undeploy "${name}"? It will be unloaded (and load again on demand with default settings).`)) return;
    const r = await action.run(
      () => api.delete('/api/v1/deployments/{name}', { path: { name } }).then(() => true),
      `${name} was undeployed.`,
    );
    if (r) list.reload();
  }

  return (
    <Page
      title="Deployments"
      actions={
        auth.can('models:deploy') && (
          <Button kind="primary" onClick={() => setEditing(editing ? null : { model: '' })}>
            {editing ? 'Close' : 'Deploy a model'}
          </Button>
        )
      }
    >
      {editing && auth.can('models:deploy') && (
        <DeployForm
          key={editing.model}
          initialModel={editing.model}
          initialSpec={editing.spec}
          onDeployed={() => {
            list.reload();
          }}
        />
      )}
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <Card title="Deployed and loaded models">
        <AsyncView
          state={list}
          isEmpty={(d) => (d.items ?? []).length === 0}
          empty="No model is deployed or loaded. Deploy one, or send a prediction to a model with a production version."
        >
          {(d) => (
            <>
              <p className="muted">Memory held by loaded versions: {formatBytes(d.loaded_bytes)}</p>
              <Table caption="Deployments">
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">Served</th>
                    <th scope="col">Loaded versions</th>
                    <th scope="col">Batching</th>
                    <th scope="col">Updated</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.items ?? []).map((x) => (
                    <DeploymentRow
                      key={x.model}
                      d={x}
                      canDeploy={auth.can('models:deploy')}
                      onEdit={() => setEditing({ model: x.model ?? '', spec: x.spec as Spec })}
                      onUndeploy={() => void undeploy(x.model ?? '')}
                    />
                  ))}
                </tbody>
              </Table>
            </>
          )}
        </AsyncView>
      </Card>
      <LiveCharts />
    </Page>
  );
}

function DeploymentRow({ d, canDeploy, onEdit, onUndeploy }: { d: Deployment; canDeploy: boolean; onEdit: () => void; onUndeploy: () => void }) {
  const spec = (d.spec ?? {}) as Spec;
  const b = spec.batching;
  return (
    <tr data-testid={`deployment-${d.model}`}>
      <th scope="row">
        <Link to={`/models/${seg(d.model ?? '')}`}>{d.model}</Link> {d.explicit ? <Badge tone="info">deployed</Badge> : <Badge>on demand</Badge>}
      </th>
      <td>{d.served_version ? `v${d.served_version}` : '—'}</td>
      <td>
        <ul className="plain">
          {(d.versions ?? []).map((v) => (
            <li key={v.version}>
              <Badge tone={v.state === 'ready' ? 'good' : v.state === 'failed' ? 'bad' : 'info'}>{`v${v.version} ${v.state}`}</Badge>{' '}
              <span className="small muted">
                {formatBytes(v.memory_bytes)} · {v.requests ?? 0} requests · {v.queued ?? 0} queued · {v.instances ?? 1} instance(s)
              </span>
              {v.error ? <div className="error-message small">{v.error}</div> : null}
            </li>
          ))}
        </ul>
      </td>
      <td className="small">
        {b ? (b.enabled === false ? 'off' : `max batch ${b.max_batch_size ?? '—'}, delay ${b.max_queue_delay_us ?? '—'} µs, queue ${b.max_queue_size ?? '—'}`) : 'defaults'}
        {spec.result_cache?.enabled ? ` · result cache ${spec.result_cache.ttl_s ?? ''} s` : ''}
      </td>
      <td>{formatDate(d.updated_at)}</td>
      <td>
        {canDeploy && (
          <div className="row row-tight">
            <Button small onClick={onEdit} label={`Settings of ${d.model}`}>
              Settings
            </Button>
            {d.explicit && (
              <Button small kind="danger" onClick={onUndeploy} label={`Undeploy ${d.model}`}>
                Undeploy
              </Button>
            )}
          </div>
        )}
      </td>
    </tr>
  );
}

type Target = 'production' | 'staging' | 'version' | 'alias';

function DeployForm({ initialModel, initialSpec, onDeployed }: { initialModel: string; initialSpec?: Spec; onDeployed: () => void }) {
  const models = useAsync((signal) => api.get('/api/v1/models', { signal, query: { limit: 1000 } }), []);
  const s = initialSpec ?? {};
  const [model, setModel] = useState(initialModel);
  const [target, setTarget] = useState<Target>(s.version ? 'version' : s.alias ? 'alias' : s.stage === 'staging' ? 'staging' : 'production');
  const [version, setVersion] = useState(s.version ? String(s.version) : '');
  const [alias, setAlias] = useState(s.alias ?? '');
  const [warmup, setWarmup] = useState(s.warmup ?? true);
  const [instances, setInstances] = useState(String(s.instances ?? 1));
  const [batching, setBatching] = useState(s.batching?.enabled ?? true);
  const [maxBatch, setMaxBatch] = useState(String(s.batching?.max_batch_size ?? 16));
  const [delay, setDelay] = useState(String(s.batching?.max_queue_delay_us ?? 2000));
  const [queue, setQueue] = useState(String(s.batching?.max_queue_size ?? 1024));
  const [cache, setCache] = useState(s.result_cache?.enabled ?? false);
  const [ttl, setTtl] = useState(String(s.result_cache?.ttl_s ?? 60));
  const action = useAction();
  const names = (models.data?.items ?? []).map((m) => m.name ?? '');
  const chosen = model || names[0] || '';

  async function submit(e: FormEvent) {
    e.preventDefault();
    const spec: Spec = {
      warmup,
      instances: Number(instances),
      batching: batching
        ? { enabled: true, max_batch_size: Number(maxBatch), max_queue_delay_us: Number(delay), max_queue_size: Number(queue) }
        : { enabled: false },
      result_cache: cache ? { enabled: true, ttl_s: Number(ttl) } : { enabled: false },
    };
    if (target === 'version') spec.version = Number(version);
    else if (target === 'alias') spec.alias = alias;
    else spec.stage = target;
    const r = await action.run(
      () => api.post('/api/v1/models/{name}/deploy', { path: { name: chosen }, body: spec }),
      (d) => `${d.model} is deployed, serving v${d.served_version ?? '—'}.`,
    );
    if (r) onDeployed();
  }

  return (
    <Card title="Deploy a model">
      <AsyncView state={models} isEmpty={(d) => (d.items ?? []).length === 0} empty="Register a model with a version first.">
        {() => (
          <form onSubmit={submit} className="form-grid">
            <SelectField label="Model" value={chosen} onChange={setModel} options={names.includes(chosen) ? names : [chosen, ...names]} />
            <SelectField<Target>
              label="Serve"
              value={target}
              onChange={setTarget}
              options={[
                { value: 'production', label: 'the production version' },
                { value: 'staging', label: 'the staging version' },
                { value: 'version', label: 'a version number' },
                { value: 'alias', label: 'an alias' },
              ]}
            />
            {target === 'version' && <TextField label="Version" type="number" min={1} value={version} onChange={setVersion} required />}
            {target === 'alias' && <TextField label="Alias" value={alias} onChange={setAlias} required />}
            <TextField label="Instances" type="number" min={1} max={64} value={instances} onChange={setInstances} />
            <CheckField label="Warm up on deploy" checked={warmup} onChange={setWarmup} />
            <fieldset className="fieldset">
              <legend>Dynamic batching</legend>
              <CheckField label="Batch concurrent requests" checked={batching} onChange={setBatching} />
              {batching && (
                <>
                  <TextField label="Max batch size" type="number" min={1} value={maxBatch} onChange={setMaxBatch} />
                  <TextField label="Max queue delay (µs)" type="number" min={0} value={delay} onChange={setDelay} />
                  <TextField label="Max queue size" type="number" min={1} value={queue} onChange={setQueue} />
                </>
              )}
            </fieldset>
            <fieldset className="fieldset">
              <legend>Result cache</legend>
              <CheckField label="Cache identical requests" checked={cache} onChange={setCache} />
              {cache && <TextField label="Time to live (s)" type="number" min={1} value={ttl} onChange={setTtl} />}
            </fieldset>
            <div className="form-actions">
              <Button type="submit" kind="primary" pending={action.pending} disabled={!chosen}>
                Deploy
              </Button>
            </div>
            <ErrorBox error={action.error} />
            <Notice>{action.notice}</Notice>
          </form>
        )}
      </AsyncView>
    </Card>
  );
}

const WINDOW = 90;

/** Polls /metrics every 2 s and charts per-model throughput (requests/s) and mean latency (ms) per interval. */
function LiveCharts() {
  const prev = useRef<{ t: number; totals: Map<string, InferenceTotals> } | null>(null);
  const [xs, setXs] = useState<number[]>([]);
  const [rate, setRate] = useState<Record<string, (number | null)[]>>({});
  const [latency, setLatency] = useState<Record<string, (number | null)[]>>({});
  const [error, setError] = useState<unknown>(null);

  async function sample() {
    try {
      const text = await fetchMetrics();
      const totals = inferenceTotals(parsePrometheus(text, 'c19ai_inference_'));
      const t = Date.now() / 1000;
      const p = prev.current;
      prev.current = { t, totals };
      setError(null);
      if (!p) return;
      const dt = t - p.t;
      const n = xs.length;
      const models = new Set([...Object.keys(rate), ...totals.keys()]);
      const nextRate: Record<string, (number | null)[]> = {};
      const nextLat: Record<string, (number | null)[]> = {};
      for (const m of models) {
        const a = p.totals.get(m);
        const b = totals.get(m);
        const r = a && b ? Math.max(0, (b.requests - a.requests) / dt) : b ? 0 : null;
        const dc = a && b ? b.latencyCount - a.latencyCount : 0;
        const l = a && b && dc > 0 ? ((b.latencySum - a.latencySum) / dc) * 1000 : null;
        nextRate[m] = [...(rate[m] ?? new Array<number | null>(n).fill(null)), r].slice(-WINDOW);
        nextLat[m] = [...(latency[m] ?? new Array<number | null>(n).fill(null)), l].slice(-WINDOW);
      }
      setXs([...xs, t].slice(-WINDOW));
      setRate(nextRate);
      setLatency(nextLat);
    } catch (e) {
      setError(e);
    }
  }
  const sampler = useRef(sample);
  sampler.current = sample;
  useEffect(() => {
    void sampler.current();
  }, []);
  useInterval(() => void sampler.current(), 2000);

  const rateSeries: Series[] = Object.entries(rate).map(([label, values]) => ({ label, values }));
  const latSeries: Series[] = Object.entries(latency).map(([label, values]) => ({ label, values }));
  return (
    <Card title="Live traffic">
      <ErrorBox error={error} />
      {rateSeries.length === 0 ? (
        <p className="muted" data-testid="charts-empty">
          {xs.length === 0 ? 'Collecting samples…' : 'No inference traffic yet. Charts appear with the first prediction.'}
        </p>
      ) : (
        <div className="grid grid-2">
          <LineChart title="Throughput (requests/s)" x={xs} series={rateSeries} yLabel="req/s" />
          <LineChart title="Mean latency per interval (ms)" x={xs} series={latSeries} yLabel="ms" />
        </div>
      )}
    </Card>
  );
}
