// Dashboard: registry counts, deployments, system health and the live event feed (WebSocket).
import { useState } from 'react';
import { api } from '../api/client';
import type { Readiness } from '../api/types';
import { Link } from '../app/router';
import { useAuth } from '../auth/session';
import {
  AsyncView, Badge, Card, Empty, Page, Table, formatBytes, formatDate, formatDuration, useAsync, useInterval,
} from '../components/ui';
import { useRealtime, type RealtimeEvent } from '../realtime/ws';

async function readiness(signal: AbortSignal): Promise<Readiness> {
  // /ready answers 503 with the same body when a dependency is down: read it either way.
  const res = await fetch('/ready', { signal, headers: { Accept: 'application/json' } });
  return (await res.json()) as Readiness;
}

export function DashboardPage() {
  const auth = useAuth();
  const canModels = auth.can('models:read');
  const stats = useAsync((signal) => (canModels ? api.get('/api/v1/registry/stats', { signal }) : Promise.resolve(null)), [canModels]);
  const deployments = useAsync(
    (signal) => (canModels ? api.get('/api/v1/deployments', { signal }) : Promise.resolve(null)),
    [canModels],
  );
  const canTraining = auth.can('training:read');
  const running = useAsync(
    (signal) => (canTraining ? api.get('/api/v1/training/jobs', { signal, query: { status: 'running', limit: 20 } }) : Promise.resolve(null)),
    [canTraining],
  );
  const queued = useAsync(
    (signal) => (canTraining ? api.get('/api/v1/training/jobs', { signal, query: { status: 'queued', limit: 20 } }) : Promise.resolve(null)),
    [canTraining],
  );
  const ready = useAsync(readiness, []);
  const info = useAsync((signal) => api.get('/api/v1/system/info', { signal, auth: false }), []);
  useInterval(() => {
    ready.reload();
    deployments.reload();
  }, 10_000);
  useInterval(() => {
    running.reload();
    queued.reload();
  }, 3000);

  const [events, setEvents] = useState<RealtimeEvent[]>([]);
  const rooms = [
    'system',
    ...(canModels ? ['models', 'deployments'] : []),
    ...(auth.can('datasets:read') ? ['datasets'] : []),
    ...(auth.user?.id ? [`user.${auth.user.id}`] : []),
  ];
  const [mountedAt] = useState(() => Date.now());
  // History: the events the server still holds are replayed first, then new ones arrive as they happen.
  useRealtime(
    rooms,
    (e) => {
      setEvents((list) => (list.some((x) => x.id === e.id) ? list : [e, ...list].sort(byTimeDesc).slice(0, 50)));
      const fresh = !e.ts || Date.parse(e.ts) >= mountedAt - 1000;
      if (fresh && e.room === 'models') stats.reload();
      if (fresh && e.room === 'deployments') deployments.reload();
    },
    { history: true },
  );

  return (
    <Page title="Dashboard">
      <div className="grid">
        {canModels && (
          <Card title="Models">
            <AsyncView state={stats}>
              {(s) =>
                s && (
                  <dl className="kv">
                    <dt>Models</dt>
                    <dd data-testid="stat-models">{s.models ?? 0}</dd>
                    <dt>Versions</dt>
                    <dd>{s.versions ?? 0}</dd>
                    <dt>In production</dt>
                    <dd>{s.by_stage?.production ?? 0}</dd>
                    <dt>In staging</dt>
                    <dd>{s.by_stage?.staging ?? 0}</dd>
                    <dt>Artifacts</dt>
                    <dd>{formatBytes(s.bytes)}</dd>
                  </dl>
                )
              }
            </AsyncView>
            <Link to="/models">All models →</Link>
          </Card>
        )}
        {canModels && (
          <Card title="Deployments">
            <AsyncView state={deployments} isEmpty={(d) => !d || (d.items ?? []).length === 0} empty="No model is deployed.">
              {(d) =>
                d && (
                  <ul className="plain">
                    {(d.items ?? []).map((x) => (
                      <li key={x.model}>
                        <Link to={`/models/${encodeURIComponent(x.model ?? '')}`}>{x.model}</Link>{' '}
                        <span className="muted">v{x.served_version ?? '—'}</span>{' '}
                        {(x.versions ?? []).map((v) => (
                          <Badge key={v.version} tone={v.state === 'ready' ? 'good' : v.state === 'failed' ? 'bad' : 'info'}>
                            {`v${v.version} ${v.state}`}
                          </Badge>
                        ))}
                      </li>
                    ))}
                  </ul>
                )
              }
            </AsyncView>
            <Link to="/deployments">Deployments →</Link>
          </Card>
        )}
        {canTraining && (
          <Card title="Training jobs">
            <AsyncView
              state={running}
              isEmpty={(d) => !d || ((d.items ?? []).length === 0 && (queued.data?.items ?? []).length === 0)}
              empty="No job is running or queued."
            >
              {(d) =>
                d && (
                  <ul className="plain" data-testid="running-jobs">
                    {[...(d.items ?? []), ...(queued.data?.items ?? [])].map((j) => (
                      <li key={j.id}>
                        <Link to={`/training/${encodeURIComponent(j.id ?? '')}`}>{j.name}</Link>{' '}
                        <Badge tone={j.status === 'running' ? 'info' : 'plain'}>{j.status}</Badge>{' '}
                        <span className="muted small">
                          epoch {j.epoch ?? 0}/{j.epochs ?? 0}
                        </span>
                      </li>
                    ))}
                  </ul>
                )
              }
            </AsyncView>
            <Link to="/training">Training →</Link>
          </Card>
        )}
        <Card title="System health">
          <AsyncView state={ready}>
            {(r) => (
              <>
                <p>
                  <Badge tone={r.status === 'ready' ? 'good' : 'bad'}>{r.status ?? 'unknown'}</Badge>
                </p>
                <ul className="plain" aria-label="Dependencies">
                  {Object.entries(r.checks ?? {}).map(([name, c]) => (
                    <li key={name}>
                      <Badge tone={c.status === 'ok' ? 'good' : 'bad'}>{c.status ?? '—'}</Badge> <strong>{name}</strong>{' '}
                      <span className="muted small">
                        {c.backend ?? ''}
                        {c.latency_ms !== undefined ? ` · ${c.latency_ms.toFixed(1)} ms` : ''}
                      </span>
                      {c.error ? <div className="error-message small">{c.error}</div> : null}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </AsyncView>
          <AsyncView state={info}>
            {(i) => (
              <p className="muted">
                {i.name} {i.version} · {i.mode} mode · up {formatDuration(i.uptime_seconds)}
              </p>
            )}
          </AsyncView>
        </Card>
      </div>
      <Card title="Recent events (live)">
        {events.length === 0 ? (
          <Empty>No recent events. Changes to models and deployments appear here as they happen.</Empty>
        ) : (
          <Table caption="Recent events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Room</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody data-testid="events">
              {events.map((e) => (
                <tr key={e.id}>
                  <td className="nowrap" title={formatDate(e.ts)}>
                    {e.ts ? new Date(e.ts).toLocaleTimeString() : '—'}
                  </td>
                  <td>{e.type}</td>
                  <td>{e.room}</td>
                  <td className="mono small">{summarize(e.data)}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </Card>
    </Page>
  );
}

function byTimeDesc(a: RealtimeEvent, b: RealtimeEvent): number {
  return (b.ts ?? '').localeCompare(a.ts ?? '');
}

function summarize(data: Record<string, unknown> | undefined): string {
  if (!data) return '';
  return Object.entries(data)
    .filter(([, v]) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
    .slice(0, 6)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}
