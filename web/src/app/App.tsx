// The console's shell: sign-in gate, navigation filtered by the caller's permissions, and the routes.
import { useEffect, useState, type ReactNode } from 'react';
import type { Permission } from '../api/types';
import { AuthProvider, useAuth } from '../auth/session';
import { Forbidden, Loading, Page } from '../components/ui';
import { LoginPage } from '../pages/Login';
import { DashboardPage } from '../pages/Dashboard';
import { ModelsPage } from '../pages/models/Models';
import { ModelDetailPage } from '../pages/models/ModelDetail';
import { DeploymentsPage } from '../pages/Deployments';
import { PlaygroundPage } from '../pages/Playground';
import { DatasetDetailPage, DatasetsPage } from '../pages/datasets/Datasets';
import { ValidationPage } from '../pages/datasets/Validation';
import { JobDetailPage, TrainingPage } from '../pages/training/Training';
import { ComparePage, ExperimentDetailPage, ExperimentsPage } from '../pages/training/Experiments';
import { SweepDetailPage, SweepsPage } from '../pages/training/Sweeps';
import { FilesPage } from '../pages/Files';
import { AccountPage } from '../pages/account/Account';
import { UsersPage } from '../pages/admin/Users';
import { RolesPage } from '../pages/admin/Roles';
import { AuditPage } from '../pages/admin/Audit';
import { SystemPage } from '../pages/admin/System';
import { StoragePage } from '../pages/admin/Storage';
import { realtime, useConnectionState, useSubscribedRooms } from '../realtime/ws';
import { Link, matchPath, navigate, useLocation } from './router';

interface Route {
  path: string;
  title: string;
  /** Any of these permissions opens the screen; none: every signed-in user. */
  perms?: Permission[];
  nav?: boolean;
  render: (params: Record<string, string>) => ReactNode;
}

const ROUTES: Route[] = [
  { path: '/', title: 'Dashboard', nav: true, render: () => <DashboardPage /> },
  { path: '/models', title: 'Models', perms: ['models:read'], nav: true, render: () => <ModelsPage /> },
  { path: '/models/:name', title: 'Model', perms: ['models:read'], render: (p) => <ModelDetailPage name={p.name} /> },
  { path: '/deployments', title: 'Deployments', perms: ['models:read'], nav: true, render: () => <DeploymentsPage /> },
  { path: '/playground', title: 'Playground', perms: ['inference:predict'], nav: true, render: () => <PlaygroundPage /> },
  { path: '/datasets', title: 'Datasets', perms: ['datasets:read'], nav: true, render: () => <DatasetsPage /> },
  { path: '/datasets/:id', title: 'Dataset', perms: ['datasets:read'], render: (p) => <DatasetDetailPage id={p.id} /> },
  { path: '/validation', title: 'Validation', perms: ['datasets:read'], nav: true, render: () => <ValidationPage /> },
  { path: '/training', title: 'Training', perms: ['training:read'], nav: true, render: () => <TrainingPage /> },
  { path: '/training/:id', title: 'Training job', perms: ['training:read'], render: (p) => <JobDetailPage id={p.id} /> },
  { path: '/experiments', title: 'Experiments', perms: ['training:read'], nav: true, render: () => <ExperimentsPage /> },
  {
    path: '/experiments/:name',
    title: 'Experiment',
    perms: ['training:read'],
    render: (p) => <ExperimentDetailPage key={p.name} name={p.name} />,
  },
  { path: '/experiments/:name/compare', title: 'Compare runs', perms: ['training:read'], render: (p) => <ComparePage name={p.name} /> },
  { path: '/sweeps', title: 'Sweeps', perms: ['training:read'], nav: true, render: () => <SweepsPage /> },
  { path: '/sweeps/:id', title: 'Sweep', perms: ['training:read'], render: (p) => <SweepDetailPage key={p.id} id={p.id} /> },
  { path: '/files', title: 'Files', perms: ['files:read'], nav: true, render: () => <FilesPage /> },
  { path: '/admin/users', title: 'Users', perms: ['users:admin'], nav: true, render: () => <UsersPage /> },
  { path: '/admin/roles', title: 'Roles', perms: ['users:admin'], nav: true, render: () => <RolesPage /> },
  { path: '/admin/audit', title: 'Audit log', perms: ['audit:read'], nav: true, render: () => <AuditPage /> },
  {
    path: '/admin/system',
    title: 'System',
    perms: ['system:admin', 'queues:admin', 'cache:admin'],
    nav: true,
    render: () => <SystemPage />,
  },
  { path: '/admin/storage', title: 'Storage', perms: ['system:admin'], nav: true, render: () => <StoragePage /> },
  { path: '/account', title: 'Account', nav: true, render: () => <AccountPage /> },
];

export function App() {
  return (
    <AuthProvider>
      <Gate />
    </AuthProvider>
  );
}

function Gate() {
  const auth = useAuth();
  useEffect(() => {
    if (auth.status === 'signed-in') realtime.start();
  }, [auth.status]);
  if (auth.status === 'loading') {
    return (
      <main className="centered">
        <Loading label="Restoring your session…" />
      </main>
    );
  }
  if (auth.status === 'signed-out') return <LoginPage />;
  return <Shell />;
}

function Shell() {
  const auth = useAuth();
  const loc = useLocation();
  const [menuOpen, setMenuOpen] = useState(false);
  const live = useConnectionState();
  const rooms = useSubscribedRooms();
  useEffect(() => setMenuOpen(false), [loc.path]);

  let content: ReactNode = null;
  for (const r of ROUTES) {
    const params = matchPath(r.path, loc.path);
    if (params) {
      content = r.perms && !auth.canAny(r.perms) ? <Forbidden /> : r.render(params);
      break;
    }
  }
  if (content === null) {
    content = (
      <Page title="Not found">
        <p>
          There is no screen at this address. <Link to="/">Go to the dashboard</Link>.
        </p>
      </Page>
    );
  }
  const visible = ROUTES.filter((r) => r.nav && (!r.perms || auth.canAny(r.perms)));
  const active = (r: Route) => (r.path === '/' ? loc.path === '/' : loc.path === r.path || loc.path.startsWith(r.path + '/'));

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="btn menu-toggle"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen((o) => !o)}
        >
          Menu
        </button>
        <Link to="/" className="brand">
          C19 AI
        </Link>
        <span className={`live live-${live}`} title="Live updates over WebSocket" data-rooms={rooms.join(' ')}>
          <span className="dot" aria-hidden="true" /> {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Offline'}
        </span>
        <span className="spacer" />
        <span className="whoami" data-testid="whoami">
          {auth.user?.display_name || auth.user?.username}
        </span>
        <button type="button" className="btn btn-small" onClick={() => void auth.logout().then(() => navigate('/', { replace: true }))}>
          Sign out
        </button>
      </header>
      <nav id="nav" className={menuOpen ? 'nav open' : 'nav'} aria-label="Main">
        <ul>
          {visible.map((r) => (
            <li key={r.path}>
              <Link to={r.path} aria-current={active(r) ? 'page' : undefined}>
                {r.title}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        {content}
      </main>
    </div>
  );
}
