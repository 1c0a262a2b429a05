// Users (admin): search, create with roles, change roles, activate/deactivate, reset password, delete.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { Role, User } from '../../api/types';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, Table, TextField, confirmAction, formatDate, useAction,
  useAsync,
} from '../../components/ui';

export function UsersPage() {
  const [search, setSearch] = useState('');
  const [applied, setApplied] = useState('');
  const [pageToken, setPageToken] = useState<string | undefined>(undefined);
  const [showCreate, setShowCreate] = useState(false);
  const users = useAsync(
    (signal) => api.get('/api/v1/users', { signal, query: { search: applied || undefined, limit: 100, page_token: pageToken } }),
    [applied, pageToken],
  );
  const roles = useAsync((signal) => api.get('/api/v1/roles', { signal }), []);
  const roleNames = (roles.data?.items ?? []).map((r) => r.name ?? '');

  return (
    <Page
      title="Users"
      actions={
        <Button kind="primary" onClick={() => setShowCreate((s) => !s)}>
          {showCreate ? 'Close' : 'Create a user'}
        </Button>
      }
    >
      {showCreate && <CreateUser roles={roles.data?.items ?? []} onCreated={users.reload} />}
      <form
        className="filters"
        role="search"
        aria-label="Search users"
        onSubmit={(e) => {
          e.preventDefault();
          setPageToken(undefined);
          setApplied(search);
        }}
      >
        <TextField label="Search users" value={search} onChange={setSearch} placeholder="name or email" />
        <Button type="submit">Search</Button>
      </form>
      <AsyncView state={users} isEmpty={(d) => (d.items ?? []).length === 0} empty="No user matches.">
        {(d) => (
          <>
            <Table caption="Users">
              <thead>
                <tr>
                  <th scope="col">User</th>
                  <th scope="col">Email</th>
                  <th scope="col">Roles</th>
                  <th scope="col">State</th>
                  <th scope="col">Last sign-in</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {(d.items ?? []).map((u) => (
                  <UserRow key={u.id} user={u} roleNames={roleNames} onChanged={users.reload} />
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

function RoleChecks({ names, value, onChange, legend }: { names: string[]; value: string[]; onChange: (v: string[]) => void; legend: string }) {
  return (
    <fieldset className="fieldset checks">
      <legend>{legend}</legend>
      {names.map((r) => (
        <CheckField key={r} label={r} checked={value.includes(r)} onChange={(on) => onChange(on ? [...value, r] : value.filter((x) => x !== r))} />
      ))}
    </fieldset>
  );
}

function CreateUser({ roles, onCreated }: { roles: Role[]; onCreated: () => void }) {
  const [username, setUsername] = useState('');
  const [email, setEmail] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [password, setPassword] = useState('');
  const [chosen, setChosen] = useState<string[]>(['viewer']);
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(
      () =>
        api.post('/api/v1/users', {
          body: { username: username.trim(), email: email.trim(), password, display_name: displayName || undefined, roles: chosen },
        }),
      (u) => `User ${u.username} created with roles ${(u.roles ?? []).join(', ')}.`,
    );
    if (r) {
      setUsername('');
      setEmail('');
      setDisplayName('');
      setPassword('');
      onCreated();
    }
  }

  return (
    <Card title="Create a user">
      <form onSubmit={submit} className="form-grid">
        <TextField label="User name" value={username} onChange={setUsername} required autoComplete="off" />
        <TextField label="Email" type="email" value={email} onChange={setEmail} required autoComplete="off" />
        <TextField label="Display name" value={displayName} onChange={setDisplayName} />
        <TextField label="Initial password" type="password" value={password} onChange={setPassword} required autoComplete="new-password" hint="At least 12 characters" />
        <RoleChecks legend="Roles" names={roles.map((r) => r.name ?? '')} value={chosen} onChange={setChosen} />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Create user
          </Button>
        </div>
        <ErrorBox error={action.error} />
        <Notice>{action.notice}</Notice>
      </form>
    </Card>
  );
}

function UserRow({ user: u, roleNames, onChanged }: { user: User; roleNames: string[]; onChanged: () => void }) {
  const auth = useAuth();
  const [editing, setEditing] = useState(false);
  const [roles, setRoles] = useState<string[]>(u.roles ?? []);
  const [password, setPassword] = useState('');
  const action = useAction();
  const id = u.id ?? '';
  const self = auth.user?.id === u.id;

  async function saveRoles() {
    const r = await action.run(() => api.put('/api/v1/users/{id}/roles', { path: { id }, body: { roles } }), 'Roles saved.');
    if (r) onChanged();
  }
  async function toggleActive() {
    const next = !u.is_active;
    if (!next && !confirmAction(`Deactivate ${u.username}? Their sessions end at once.`)) return;
    const r = await action.run(() => api.patch('/api/v1/users/{id}', { path: { id }, body: { is_active: next } }));
    if (r) onChanged();
  }
  async function resetPassword(e: FormEvent) {
    e.preventDefault();
    const r = await action.run(
      () => api.post('/api/v1/users/{id}/password', { path: { id }, body: { new_password: password } }).then(() => true),
      'Password set; the user was signed out everywhere.',
    );
    if (r) setPassword('');
  }
  async function remove() {
    if (!confirmAction(`Delete user ${u.username}? Their sessions and API keys go too.`)) return;
    const r = await action.run(() => api.delete('/api/v1/users/{id}', { path: { id } }).then(() => true));
    if (r) onChanged();
  }

  return (
    <>
      <tr data-testid={`user-${u.username}`}>
        <th scope="row">
          {u.username}
          {u.display_name ? <div className="muted small">{u.display_name}</div> : null}
        </th>
        <td>{u.email}</td>
        <td>
          {(u.roles ?? []).map((r) => (
            <Badge key={r}>{r}</Badge>
          ))}
        </td>
        <td>
          {u.is_active ? <Badge tone="good">active</Badge> : <Badge tone="bad">inactive</Badge>}
          {u.totp_enabled && <Badge tone="info">2FA</Badge>}
        </td>
        <td>{formatDate(u.last_login_at)}</td>
        <td>
          <div className="row row-tight">
            <Button small onClick={() => setEditing((e) => !e)} label={`Edit ${u.username}`}>
              {editing ? 'Close' : 'Edit'}
            </Button>
            {!self && (
              <Button small onClick={() => void toggleActive()} label={`${u.is_active ? 'Deactivate' : 'Activate'} ${u.username}`}>
                {u.is_active ? 'Deactivate' : 'Activate'}
              </Button>
            )}
            {!self && (
              <Button small kind="danger" onClick={() => void remove()} label={`Delete ${u.username}`}>
                Delete
              </Button>
            )}
          </div>
        </td>
      </tr>
      {(editing || action.error || action.notice) && (
        <tr className="detail-row">
          <td colSpan={6}>
            <ErrorBox error={action.error} />
            <Notice>{action.notice}</Notice>
            {editing && (
              <div className="grid grid-2">
                <div>
                  <RoleChecks legend={`Roles of ${u.username}`} names={roleNames} value={roles} onChange={setRoles} />
                  <Button kind="primary" onClick={() => void saveRoles()} pending={action.pending}>
                    Save roles
                  </Button>
                </div>
                <form onSubmit={resetPassword} className="form-grid">
                  <TextField label={`New password for ${u.username}`} type="password" value={password} onChange={setPassword} required autoComplete="new-password" />
                  <div className="form-actions">
                    <Button type="submit" pending={action.pending}>
                      Set password
                    </Button>
                  </div>
                </form>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
