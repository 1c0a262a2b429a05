// Account: profile, password change, two-factor setup with a QR code, sessions, API keys.
import { useEffect, useState, type FormEvent } from 'react';
import QRCode from 'qrcode';
import { api } from '../../api/client';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, Table, TextField, confirmAction, formatDate, useAction,
  useAsync,
} from '../../components/ui';

export function AccountPage() {
  const auth = useAuth();
  const u = auth.user;
  return (
    <Page title="Account">
      <div className="grid">
        <Card title="Profile">
          <dl className="kv">
            <dt>User name</dt>
            <dd>{u?.username}</dd>
            <dt>Display name</dt>
            <dd>{u?.display_name || '—'}</dd>
            <dt>Email</dt>
            <dd>{u?.email}</dd>
            <dt>Roles</dt>
            <dd data-testid="my-roles">{(u?.roles ?? []).join(', ') || '—'}</dd>
            <dt>Two-factor</dt>
            <dd>{u?.totp_enabled ? <Badge tone="good">on</Badge> : <Badge>off</Badge>}</dd>
          </dl>
          <details>
            <summary>Permissions</summary>
            <ul className="plain small">
              {(u?.permissions ?? []).map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </details>
        </Card>
        <PasswordCard />
        <TwoFactorCard />
      </div>
      <SessionsCard />
      <ApiKeysCard />
    </Page>
  );
}

function PasswordCard() {
  const auth = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (next !== again) {
      action.setError('The two new passwords differ.');
      return;
    }
    const r = await action.run(() =>
      api.post('/api/v1/auth/password', { body: { current_password: current, new_password: next } }).then(() => true),
    );
    // A password change signs out every session, this one included.
    if (r) auth.endSession('Your password was changed. Sign in with the new password.');
  }

  return (
    <Card title="Change password">
      <form onSubmit={submit} className="form-grid">
        <TextField label="Current password" type="password" value={current} onChange={setCurrent} autoComplete="current-password" required />
        <TextField label="New password" type="password" value={next} onChange={setNext} autoComplete="new-password" required hint="At least 12 characters" />
        <TextField label="New password again" type="password" value={again} onChange={setAgain} autoComplete="new-password" required />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Change password
          </Button>
        </div>
        <ErrorBox error={action.error} />
      </form>
    </Card>
  );
}

function TwoFactorCard() {
  const auth = useAuth();
  const enabled = !!auth.user?.totp_enabled;
  const [setup, setSetup] = useState<{ secret?: string; otpauth_uri?: string } | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const action = useAction();

  useEffect(() => {
    if (!setup?.otpauth_uri) {
      setQr(null);
      return;
    }
    let cancelled = false;
    QRCode.toDataURL(setup.otpauth_uri, { margin: 2, width: 220, errorCorrectionLevel: 'M' })
      .then((url) => {
        if (!cancelled) setQr(url);
      })
      .catch(() => setQr(null));
    return () => {
      cancelled = true;
    };
  }, [setup]);

  async function start() {
    const r = await action.run(() => api.post('/api/v1/auth/totp/setup'));
    if (r) setSetup(r);
  }
  async function enable(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(() => api.post('/api/v1/auth/totp/enable', { body: { code: code.trim() } }), 'Two-factor authentication is on.');
    if (r) {
      setSetup(null);
      setCode('');
      await auth.reloadUser();
    }
  }
  async function disable(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(() => api.post('/api/v1/auth/totp/disable', { body: { code: code.trim() } }), 'Two-factor authentication is off.');
    if (r) {
      setCode('');
      await auth.reloadUser();
    }
  }

  return (
    <Card title="Two-factor authentication">
      {enabled ? (
        <form onSubmit={disable} className="form-grid">
          <p>Two-factor authentication is on. Enter a current code to turn it off.</p>
          <TextField label="Authentication code" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" required />
          <div className="form-actions">
            <Button type="submit" kind="danger" pending={action.pending}>
              Turn off
            </Button>
          </div>
        </form>
      ) : !setup ? (
        <>
          <p>Protect this account with codes from an authenticator app.</p>
          <Button kind="primary" onClick={() => void start()} pending={action.pending}>
            Set up two-factor
          </Button>
        </>
      ) : (
        <form onSubmit={enable} className="form-grid">
          <p>Scan this QR code with your authenticator app, or type the secret, then enter the code it shows.</p>
          {qr && <img src={qr} alt="QR code for the authenticator app" className="qr" data-testid="totp-qr" width={220} height={220} />}
          <p>
            Secret: <code data-testid="totp-secret">{setup.secret}</code>
          </p>
          <TextField label="Authentication code" value={code} onChange={setCode} inputMode="numeric" autoComplete="one-time-code" required />
          <div className="form-actions">
            <Button type="submit" kind="primary" pending={action.pending}>
              Turn on
            </Button>
            <Button onClick={() => setSetup(null)}>Cancel</Button>
          </div>
        </form>
      )}
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
    </Card>
  );
}

function SessionsCard() {
  const auth = useAuth();
  const list = useAsync((signal) => api.get('/api/v1/auth/sessions', { signal }), []);
  const action = useAction();
  async function revoke(id: string, current: boolean) {
    if (!confirmAction(current ? 'Revoke this session? You will be signed out.' : 'Revoke this session?')) return;
    const r = await action.run(() => api.delete('/api/v1/auth/sessions/{id}', { path: { id } }).then(() => true), 'Session revoked.');
    if (r && current) auth.endSession('This session was revoked.');
    else if (r) list.reload();
  }
  return (
    <Card title="Sessions">
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={list} isEmpty={(d) => (d.items ?? []).length === 0} empty="No active session.">
        {(d) => (
          <Table caption="Active sessions">
            <thead>
              <tr>
                <th scope="col">Started</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Client</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(d.items ?? []).map((s) => (
                <tr key={s.id}>
                  <td>
                    {formatDate(s.created_at)} {s.current && <Badge tone="info">this session</Badge>}
                  </td>
                  <td>{formatDate(s.last_used_at)}</td>
                  <td>{formatDate(s.expires_at)}</td>
                  <td className="small">
                    {s.client_address} {s.user_agent ? `· ${s.user_agent}` : ''}
                  </td>
                  <td>
                    <Button small kind="danger" onClick={() => void revoke(s.id ?? '', !!s.current)} label="Revoke session">
                      Revoke
                    </Button>
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

function ApiKeysCard() {
  const auth = useAuth();
  const list = useAsync((signal) => api.get('/api/v1/api-keys', { signal }), []);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [created, setCreated] = useState<{ name?: string; key?: string } | null>(null);
  const action = useAction();
  const perms = auth.user?.permissions ?? [];

  async function create(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(() =>
      api.post('/api/v1/api-keys', {
        body: { name: name.trim(), scopes, ...(expires ? { expires_at: new Date(expires).toISOString() } : {}) },
      }),
    );
    if (r) {
      setCreated(r);
      setName('');
      setScopes([]);
      list.reload();
    }
  }
  async function remove(id: string, n: string) {
    if (!confirmAction(`Delete API key "${n}"? Clients using it stop working.`)) return;
    const r = await action.run(() => api.delete('/api/v1/api-keys/{id}', { path: { id } }).then(() => true), 'API key deleted.');
    if (r) list.reload();
  }

  return (
    <Card title="API keys">
      <form onSubmit={create} className="form-grid">
        <TextField label="Key name" value={name} onChange={setName} required />
        <TextField label="Expires at (optional)" type="datetime-local" value={expires} onChange={setExpires} />
        <fieldset className="fieldset checks">
          <legend>Scopes (from your permissions)</legend>
          {perms.map((p) => (
            <CheckField
              key={p}
              label={p}
              checked={scopes.includes(p)}
              onChange={(on) => setScopes((s) => (on ? [...s, p] : s.filter((x) => x !== p)))}
            />
          ))}
        </fieldset>
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Create key
          </Button>
        </div>
      </form>
      {created?.key && (
        <div className="state state-ok" role="status">
          <p>
            Key <strong>{created.name}</strong> created. Copy it now: it is not shown again. Send it as the <code>X-API-Key</code> header.
          </p>
          <code className="secret" data-testid="new-api-key">
            {created.key}
          </code>
        </div>
      )}
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={list} isEmpty={(d) => (d.items ?? []).length === 0} empty="No API key.">
        {(d) => (
          <Table caption="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(d.items ?? []).map((k) => (
                <tr key={k.id}>
                  <th scope="row">{k.name}</th>
                  <td className="small">{(k.scopes ?? []).join(', ')}</td>
                  <td>{formatDate(k.created_at)}</td>
                  <td>{k.expires_at ? formatDate(k.expires_at) : 'never'}</td>
                  <td>{formatDate(k.last_used_at)}</td>
                  <td>
                    <Button small kind="danger" onClick={() => void remove(k.id ?? '', k.name ?? '')} label={`Delete API key ${k.name}`}>
                      Delete
                    </Button>
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
