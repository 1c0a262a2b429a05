// Audit log: who did what, newest first, with filters and paging.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { AsyncView, Badge, Button, Json, Page, Table, TextField, formatDate, useAsync } from '../../components/ui';

export function AuditPage() {
  const [actor, setActor] = useState('');
  const [action, setAction] = useState('');
  const [resource, setResource] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [applied, setApplied] = useState<Record<string, string>>({});
  const [tokens, setTokens] = useState<string[]>([]);
  const pageToken = tokens[tokens.length - 1];
  const list = useAsync(
    (signal) =>
      api.get('/api/v1/audit', {
        signal,
        query: {
          actor: applied.actor || undefined,
          action: applied.action || undefined,
          resource: applied.resource || undefined,
          since: applied.since ? new Date(applied.since).toISOString() : undefined,
          until: applied.until ? new Date(applied.until).toISOString() : undefined,
          limit: 100,
          page_token: pageToken,
        },
      }),
    [applied, pageToken],
  );

  function submit(e: FormEvent) {
    e.preventDefault();
    setTokens([]);
    setApplied({ actor, action, resource, since, until });
  }

  return (
    <Page title="Audit log">
      <form className="filters" role="search" aria-label="Filter the audit log" onSubmit={submit}>
        <TextField label="Actor" value={actor} onChange={setActor} />
        <TextField label="Action" value={action} onChange={setAction} placeholder="auth.login" />
        <TextField label="Resource" value={resource} onChange={setResource} />
        <TextField label="Since" type="datetime-local" value={since} onChange={setSince} />
        <TextField label="Until" type="datetime-local" value={until} onChange={setUntil} />
        <Button type="submit">Filter</Button>
      </form>
      <AsyncView state={list} isEmpty={(d) => (d.items ?? []).length === 0} empty="No audit entry matches.">
        {(d) => (
          <>
            <Table caption="Audit entries">
              <thead>
                <tr>
                  <th scope="col">When</th>
                  <th scope="col">Actor</th>
                  <th scope="col">Action</th>
                  <th scope="col">Resource</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Client</th>
                  <th scope="col">Details</th>
                </tr>
              </thead>
              <tbody>
                {(d.items ?? []).map((a, i) => (
                  <tr key={`${a.request_id}-${i}`}>
                    <td>{formatDate(a.at)}</td>
                    <td>{a.actor || '—'}</td>
                    <td className="mono small">{a.action}</td>
                    <td className="small">{a.resource}</td>
                    <td>
                      <Badge tone={a.outcome === 'success' ? 'good' : 'bad'}>{a.outcome}</Badge>
                    </td>
                    <td className="small">{a.client_address}</td>
                    <td>
                      {a.details && Object.keys(a.details).length > 0 ? (
                        <details>
                          <summary>details</summary>
                          <Json value={a.details} />
                        </details>
                      ) : (
                        '—'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <div className="row">
              {tokens.length > 0 && <Button onClick={() => setTokens((t) => t.slice(0, -1))}>Previous page</Button>}
              {d.next_page_token && <Button onClick={() => setTokens((t) => [...t, d.next_page_token ?? ''])}>Next page</Button>}
            </div>
          </>
        )}
      </AsyncView>
    </Page>
  );
}
