// Files browser: list by prefix (folders from "/" in keys), upload with progress, download, verify, delete.
import { useMemo, useRef, useState, type FormEvent } from 'react';
import { api, downloadBlob, saveBlob, upload, type UploadHandle } from '../api/client';
import type { FileInfo } from '../api/types';
import { useAuth } from '../auth/session';
import {
  AsyncView, Button, Card, ErrorBox, Field, Notice, Page, Progress, Table, TextField, confirmAction, formatBytes, formatDate,
  useAction, useAsync,
} from '../components/ui';

export function FilesPage() {
  const auth = useAuth();
  const [prefix, setPrefix] = useState('');
  const [typed, setTyped] = useState('');
  const [pageToken, setPageToken] = useState<string | undefined>(undefined);
  const list = useAsync(
    (signal) => api.get('/api/v1/files', { signal, query: { prefix: prefix || undefined, limit: 200, page_token: pageToken } }),
    [prefix, pageToken],
  );
  const action = useAction();

  function go(p: string) {
    setPrefix(p);
    setTyped(p);
    setPageToken(undefined);
  }

  // Keys directly under the prefix, and the sub-folders (the next "/" segment) seen in this page of results.
  const { folders, files } = useMemo(() => {
    const folders = new Set<string>();
    const files: FileInfo[] = [];
    for (const f of list.data?.items ?? []) {
      const rest = (f.key ?? '').slice(prefix.length);
      const i = rest.indexOf('/');
      if (i >= 0) folders.add(prefix + rest.slice(0, i + 1));
      else files.push(f);
    }
    return { folders: [...folders].sort(), files };
  }, [list.data, prefix]);

  async function remove(key: string) {
    if (!confirmAction(`Delete "${key}"?`)) return;
    const r = await action.run(() => api.delete('/api/v1/files/{key}', { path: { key } }).then(() => true), `Deleted ${key}.`);
    if (r) list.reload();
  }
  async function download(key: string) {
    await action.run(async () => {
      const { blob } = await downloadBlob('/api/v1/files/{key}', { key });
      saveBlob(blob, key.split('/').pop() || 'download');
    });
  }
  async function verify(key: string) {
    await action.run(
      () => api.post('/api/v1/files/{key}:verify', { path: { key } }),
      (r) => `Verified ${key}: ${JSON.stringify(r)}`,
    );
  }

  const crumbs = prefix.split('/').filter(Boolean);
  return (
    <Page title="Files">
      {auth.can('files:write') && <UploadFile prefix={prefix} onUploaded={list.reload} />}
      <Card title="Browse">
        <form
          className="row row-end"
          onSubmit={(e) => {
            e.preventDefault();
            go(typed);
          }}
          role="search"
          aria-label="Filter files by prefix"
        >
          <TextField label="Key prefix" value={typed} onChange={setTyped} placeholder="reports/2026/" />
          <Button type="submit">Go</Button>
        </form>
        <nav aria-label="Folder" className="crumbs">
          <button type="button" className="linklike" onClick={() => go('')}>
            all files
          </button>
          {crumbs.map((c, i) => (
            <span key={i}>
              {' / '}
              <button type="button" className="linklike" onClick={() => go(crumbs.slice(0, i + 1).join('/') + '/')}>
                {c}
              </button>
            </span>
          ))}
        </nav>
        <ErrorBox error={action.error} />
        <Notice>{action.notice}</Notice>
        <AsyncView state={list} isEmpty={(d) => (d.items ?? []).length === 0} empty={prefix ? 'No file under this prefix.' : 'No file yet.'}>
          {(d) => (
            <>
              <Table caption="Files">
                <thead>
                  <tr>
                    <th scope="col">Key</th>
                    <th scope="col">Size</th>
                    <th scope="col">Type</th>
                    <th scope="col">Created</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {folders.map((f) => (
                    <tr key={f}>
                      <th scope="row" colSpan={6}>
                        <button type="button" className="linklike" onClick={() => go(f)}>
                          {'▸ ' + f.slice(prefix.length)}
                        </button>
                      </th>
                    </tr>
                  ))}
                  {files.map((f) => (
                    <tr key={f.key} data-testid={`file-${f.key}`}>
                      <th scope="row" className="mono small">
                        {(f.key ?? '').slice(prefix.length)}
                      </th>
                      <td>{formatBytes(f.size)}</td>
                      <td>{f.content_type}</td>
                      <td>{formatDate(f.created_at)}</td>
                      <td>{f.expires_at ? formatDate(f.expires_at) : 'never'}</td>
                      <td>
                        <div className="row row-tight">
                          <Button small onClick={() => void download(f.key ?? '')} label={`Download ${f.key}`}>
                            Download
                          </Button>
                          <Button small onClick={() => void verify(f.key ?? '')} label={`Verify ${f.key}`}>
                            Verify
                          </Button>
                          {auth.can('files:write') && (
                            <Button small kind="danger" onClick={() => void remove(f.key ?? '')} label={`Delete ${f.key}`}>
                              Delete
                            </Button>
                          )}
                        </div>
                      </td>
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
      </Card>
    </Page>
  );
}

function UploadFile({ prefix, onUploaded }: { prefix: string; onUploaded: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [key, setKey] = useState('');
  const [expires, setExpires] = useState('');
  const [progress, setProgress] = useState<{ loaded: number; total: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const handle = useRef<UploadHandle<unknown> | null>(null);
  const input = useRef<HTMLInputElement>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!file) {
      setError('Choose a file first.');
      return;
    }
    const k = key.trim() || prefix + file.name;
    setError(null);
    setDone(null);
    setProgress({ loaded: 0, total: file.size });
    const headers: Record<string, string> = { 'Content-Type': file.type || 'application/octet-stream' };
    if (expires.trim()) headers['X-Expires-In'] = expires.trim();
    const h = upload('put', '/api/v1/files/{key}', { key: k }, file, setProgress, headers);
    handle.current = h;
    try {
      const r = await h.promise;
      setDone(`Uploaded ${r.key} (${formatBytes(r.size)}, sha256 ${(r.sha256 ?? '').slice(0, 12)}…).`);
      setFile(null);
      setKey('');
      if (input.current) input.current.value = '';
      onUploaded();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setProgress(null);
      handle.current = null;
    }
  }

  return (
    <Card title="Upload a file">
      <form onSubmit={submit} className="form-grid">
        <Field label="File">
          {(id) => <input id={id} ref={input} type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />}
        </Field>
        <TextField label="Key" value={key} onChange={setKey} placeholder={prefix + (file?.name ?? 'name')} hint="Empty: the current folder and the file's name" />
        <TextField label="Expires in (seconds)" value={expires} onChange={setExpires} type="number" min={1} hint="Empty: never" />
        <div className="form-actions">
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
