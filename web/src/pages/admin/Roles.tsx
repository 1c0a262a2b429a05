// Roles (admin): built-in and custom roles with their permissions; create, edit and delete custom roles.
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { Role } from '../../api/types';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, Table, TextField, confirmAction, useAction, useAsync,
} from '../../components/ui';

export function RolesPage() {
  const roles = useAsync((signal) => api.get('/api/v1/roles', { signal }), []);
  const perms = useAsync((signal) => api.get('/api/v1/permissions', { signal }), []);
  const [editing, setEditing] = useState<Role | 'new' | null>(null);
  const all = perms.data?.items ?? [];

  return (
    <Page
      title="Roles"
      actions={
        <Button kind="primary" onClick={() => setEditing(editing === 'new' ? null : 'new')}>
          {editing === 'new' ? 'Close' : 'Create a role'}
        </Button>
      }
    >
      {editing && (
        <RoleForm
          key={editing === 'new' ? 'new' : editing.name}
          role={editing === 'new' ? null : editing}
          permissions={all}
          onSaved={() => {
            setEditing(null);
            roles.reload();
          }}
        />
      )}
      <AsyncView state={roles} isEmpty={(d) => (d.items ?? []).length === 0} empty="No role.">
        {(d) => (
          <Table caption="Roles">
            <thead>
              <tr>
                <th scope="col">Role</th>
                <th scope="col">Description</th>
                <th scope="col">Permissions</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(d.items ?? []).map((r) => (
                <RoleRow key={r.name} role={r} onEdit={() => setEditing(r)} onChanged={roles.reload} />
              ))}
            </tbody>
          </Table>
        )}
      </AsyncView>
    </Page>
  );
}

function RoleRow({ role: r, onEdit, onChanged }: { role: Role; onEdit: () => void; onChanged: () => void }) {
  const action = useAction();
  async function remove() {
    if (!confirmAction(`Delete role ${r.name}?`)) return;
    const ok = await action.run(() => api.delete('/api/v1/roles/{name}', { path: { name: r.name ?? '' } }).then(() => true));
    if (ok) onChanged();
  }
  return (
    <tr>
      <th scope="row">
        {r.name} {r.builtin && <Badge tone="muted">built-in</Badge>}
      </th>
      <td>{r.description || '—'}</td>
      <td className="small">{(r.permissions ?? []).join(', ')}</td>
      <td>
        {!r.builtin && (
          <div className="row row-tight">
            <Button small onClick={onEdit} label={`Edit role ${r.name}`}>
              Edit
            </Button>
            <Button small kind="danger" onClick={() => void remove()} pending={action.pending} label={`Delete role ${r.name}`}>
              Delete
            </Button>
          </div>
        )}
        <ErrorBox error={action.error} />
      </td>
    </tr>
  );
}

function RoleForm({ role, permissions, onSaved }: { role: Role | null; permissions: string[]; onSaved: () => void }) {
  const [name, setName] = useState(role?.name ?? '');
  const [description, setDescription] = useState(role?.description ?? '');
  const [chosen, setChosen] = useState<string[]>(role?.permissions ?? []);
  const action = useAction();

  async function submit(e: FormEvent) {
    e.preventDefault();
    const r = role
      ? await action.run(() => api.patch('/api/v1/roles/{name}', { path: { name: role.name ?? '' }, body: { description, permissions: chosen } }))
      : await action.run(() => api.post('/api/v1/roles', { body: { name: name.trim(), description, permissions: chosen } }));
    if (r) onSaved();
  }

  return (
    <Card title={role ? `Edit role ${role.name}` : 'Create a role'}>
      <form onSubmit={submit} className="form-grid">
        {!role && <TextField label="Role name" value={name} onChange={setName} required hint="lower case letters, digits, '_' and '-'" />}
        <TextField label="Description" value={description} onChange={setDescription} />
        <fieldset className="fieldset checks">
          <legend>Permissions</legend>
          {permissions.map((p) => (
            <CheckField key={p} label={p} checked={chosen.includes(p)} onChange={(on) => setChosen((s) => (on ? [...s, p] : s.filter((x) => x !== p)))} />
          ))}
        </fieldset>
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            {role ? 'Save' : 'Create role'}
          </Button>
        </div>
        <ErrorBox error={action.error} />
        <Notice>{action.notice}</Notice>
      </form>
    </Card>
  );
}
