// System (operators): server info, storage usage, cache statistics and flush, queues with dead letters.
import { api } from '../../api/client';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Button, Card, ErrorBox, Notice, Page, Table, confirmAction, formatBytes, formatDuration, useAction, useAsync,
} from '../../components/ui';

export function SystemPage() {
  const auth = useAuth();
  const info = useAsync((signal) => api.get('/api/v1/system/info', { signal, auth: false }), []);
  return (
    <Page title="System">
      <Card title="Server">
        <AsyncView state={info}>
          {(i) => (
            <dl className="kv">
              <dt>Version</dt>
              <dd>
                {i.name} {i.version}
              </dd>
              <dt>Mode</dt>
              <dd>{i.mode}</dd>
              <dt>Uptime</dt>
              <dd>{formatDuration(i.uptime_seconds)}</dd>
              {Object.entries(i.backends ?? {}).map(([k, v]) => (
                <Fragmentish key={k} k={k} v={String(v)} />
              ))}
            </dl>
          )}
        </AsyncView>
      </Card>
      {auth.can('files:read') && <StorageCard />}
      {auth.can('cache:admin') && <CacheCard />}
      {auth.can('queues:admin') && <QueuesCard />}
    </Page>
  );
}

function Fragmentish({ k, v }: { k: string; v: string }) {
  return (
    <>
      <dt>{k}</dt>
      <dd className="mono small">{v}</dd>
    </>
  );
}

function StorageCard() {
  const stats = useAsync((signal) => api.get('/api/v1/storage/stats', { signal }), []);
  return (
    <Card title="Storage">
      <AsyncView state={stats}>
        {(s) => (
          <>
            <p>
              {s.objects ?? 0} objects, {formatBytes(s.bytes)} · primary backend {s.primary}
            </p>
            <Table caption="Storage usage">
              <thead>
                <tr>
                  <th scope="col">Backend</th>
                  <th scope="col">Prefix</th>
                  <th scope="col">Objects</th>
                  <th scope="col">Bytes</th>
                </tr>
              </thead>
              <tbody>
                {(s.usage ?? []).map((u, i) => (
                  <tr key={i}>
                    <td>{u.backend}</td>
                    <td className="mono small">{u.prefix}</td>
                    <td>{u.objects}</td>
                    <td>{formatBytes(u.bytes)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </>
        )}
      </AsyncView>
    </Card>
  );
}

function CacheCard() {
  const stats = useAsync((signal) => api.get('/api/v1/cache/stats', { signal }), []);
  const action = useAction();
  async function flush(ns: string) {
    if (!confirmAction(`Drop every entry of cache namespace "${ns}"?`)) return;
    const r = await action.run(() => api.delete('/api/v1/cache/{namespace}', { path: { namespace: ns } }).then(() => true), `Flushed ${ns}.`);
    if (r) stats.reload();
  }
  return (
    <Card title="Cache">
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={stats}>
        {(s) => (
          <>
            <p>
              {s.backend}: {s.entries ?? 0} entries, {formatBytes(s.bytes)} of {formatBytes(s.capacity_bytes)}
            </p>
            <Table caption="Cache namespaces">
              <thead>
                <tr>
                  <th scope="col">Namespace</th>
                  <th scope="col">Hits</th>
                  <th scope="col">Misses</th>
                  <th scope="col">Sets</th>
                  <th scope="col">Evictions</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {(s.namespaces ?? []).map((n) => (
                  <tr key={n.name}>
                    <th scope="row">{n.name}</th>
                    <td>{n.hits}</td>
                    <td>{n.misses}</td>
                    <td>{n.sets}</td>
                    <td>{n.evictions}</td>
                    <td>
                      <Button small kind="danger" onClick={() => void flush(n.name ?? '')} label={`Flush cache namespace ${n.name}`}>
                        Flush
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </>
        )}
      </AsyncView>
    </Card>
  );
}

function QueuesCard() {
  const queues = useAsync((signal) => api.get('/api/v1/queues', { signal }), []);
  const action = useAction();
  async function redrive(topic: string) {
    const r = await action.run(
      () => api.post('/api/v1/queues/{topic}/dead-letters:redrive', { path: { topic }, body: {} }),
      `Dead letters of ${topic} moved back to the queue.`,
    );
    if (r !== undefined) queues.reload();
  }
  return (
    <Card title="Queues">
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={queues} isEmpty={(d) => (d.items ?? []).length === 0} empty="No queue topic yet.">
        {(q) => (
          <Table caption="Queue topics">
            <thead>
              <tr>
                <th scope="col">Topic</th>
                <th scope="col">Ready</th>
                <th scope="col">Delayed</th>
                <th scope="col">In flight</th>
                <th scope="col">Dead letters</th>
                <th scope="col">Oldest ready</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(q.items ?? []).map((t) => (
                <tr key={t.topic}>
                  <th scope="row">{t.topic}</th>
                  <td>{t.ready}</td>
                  <td>{t.delayed}</td>
                  <td>{t.in_flight}</td>
                  <td>{t.dead_letters}</td>
                  <td>{t.oldest_ready_age_seconds !== undefined ? formatDuration(t.oldest_ready_age_seconds) : '—'}</td>
                  <td>
                    {(t.dead_letters ?? 0) > 0 && (
                      <Button small onClick={() => void redrive(t.topic ?? '')} label={`Redrive dead letters of ${t.topic}`}>
                        Redrive
                      </Button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </AsyncView>
    </Card>
  );
}
