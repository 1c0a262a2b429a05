// Sweeps: the list, a form that starts a sweep from an existing job (base_job) with grid or random search over
// spec paths (a list of values or a min/max/scale range each), an objective, median stopping and a model name
// for the best trial; the API's field errors (error.details.field) are shown next to the field they name. A
// sweep's page lists its trials and follows them live: sweep events in room training.<sweep>, epoch progress
// of the running trials in their own rooms training.<job>.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, api } from '../../api/client';
import type { Sweep, SweepSpec, SweepTrial } from '../../api/types';
import { Link, navigate, seg, useLocation } from '../../app/router';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, Progress, SelectField, Table, TextField, describeError,
  formatDate, formatNumber, useAction, useAsync, useInterval,
} from '../../components/ui';
import { useConnectionState, useRealtime, type RealtimeEvent } from '../../realtime/ws';
import { experimentPath } from './Experiments';
import { statusTone, type Job } from './Training';

const ACTIVE_SWEEP = new Set(['running', 'finishing']);

function trialTone(s: string | undefined): string {
  return s === 'pruned' ? 'warn' : statusTone(s ?? '');
}

function trialCount(s: Sweep): number {
  return Math.max(s.trials?.length ?? 0, s.max_trials ?? 0);
}

function formatParamValue(v: unknown): string {
  return typeof v === 'number' ? formatNumber(v, 4) : typeof v === 'string' ? v : JSON.stringify(v);
}

export function SweepsPage() {
  const auth = useAuth();
  const loc = useLocation();
  const baseJob = loc.query.get('base_job') ?? '';
  const [showForm, setShowForm] = useState(!!baseJob);
  // A link with ?base_job= ("Sweep from this job") opens the form also when this page is already shown.
  useEffect(() => {
    if (baseJob) setShowForm(true);
  }, [baseJob]);
  const list = useAsync((signal) => api.get('/api/v1/training/sweeps', { signal, query: { limit: 100 } }), []);
  const items = list.data?.items ?? [];
  const running = items.filter((s) => ACTIVE_SWEEP.has(s.status ?? ''));
  useRealtime(running.map((s) => `training.${s.id}`), () => list.reload());
  useInterval(() => list.reload(), running.length ? 5000 : 20000);

  return (
    <Page
      title="Sweeps"
      actions={
        auth.can('training:run') && (
          <Button kind="primary" onClick={() => setShowForm((s) => !s)}>
            {showForm ? 'Close' : 'New sweep'}
          </Button>
        )
      }
    >
      {showForm && auth.can('training:run') && <NewSweep key={baseJob} initialBaseJob={baseJob} />}
      <AsyncView state={list} isEmpty={() => items.length === 0} empty="No sweep yet. Start one from a training job.">
        {() => (
          <Table caption="Sweeps">
            <thead>
              <tr>
                <th scope="col">Sweep</th>
                <th scope="col">Experiment</th>
                <th scope="col">Status</th>
                <th scope="col">Trials</th>
                <th scope="col">Best</th>
                <th scope="col">Model</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => {
                const model = s.model as { name?: string; version?: number } | null | undefined;
                return (
                  <tr key={s.id} data-testid={`sweep-${s.name}`}>
                    <th scope="row">
                      <Link to={`/sweeps/${seg(s.id ?? '')}`}>{s.name}</Link>
                    </th>
                    <td>{s.experiment ? <Link to={experimentPath(s.experiment)}>{s.experiment}</Link> : '—'}</td>
                    <td>
                      <Badge tone={statusTone(s.status ?? '')}>{s.status}</Badge>
                    </td>
                    <td>
                      <Progress value={s.trials_done ?? 0} max={trialCount(s)} label={`Trials of ${s.name} done`} />
                      <span className="small muted">{`${s.trials_done ?? 0} of ${trialCount(s)}`}</span>
                    </td>
                    <td>{s.best ? `${formatNumber(s.best.value)} (trial ${s.best.trial})` : '—'}</td>
                    <td>{model?.name ? <Link to={`/models/${seg(model.name)}`}>{`${model.name} v${model.version}`}</Link> : '—'}</td>
                    <td>{formatDate(s.created_at)}</td>
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </AsyncView>
    </Page>
  );
}

type Kind = 'values' | 'range';
type Scale = 'linear' | 'log';
type NumberType = 'float' | 'int';
type Method = 'grid' | 'random';
type Direction = 'maximize' | 'minimize';

interface ParamRow {
  key: number;
  path: string;
  kind: Kind;
  values: string;
  min: string;
  max: string;
  scale: Scale;
  type: NumberType;
}

let rowKeys = 0;
function newRow(path = ''): ParamRow {
  return { key: ++rowKeys, path, kind: 'values', values: '', min: '', max: '', scale: 'linear', type: 'float' };
}

/** "0.01, 0.1, adam, true" → [0.01, 0.1, "adam", true]. */
function parseValues(text: string): unknown[] {
  return text
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== '')
    .map((x) => (x === 'true' ? true : x === 'false' ? false : x !== '' && !Number.isNaN(Number(x)) ? Number(x) : x));
}

/** Field errors by the API's field name (e.g. "max_trials", "search.parameters.optimizer.lr.min"). */
type FieldErrors = Record<string, string>;

function NewSweep({ initialBaseJob }: { initialBaseJob: string }) {
  const jobsState = useAsync((signal) => api.get('/api/v1/training/jobs', { signal, query: { limit: 100 } }), []);
  const jobs = ((jobsState.data?.items ?? []) as unknown) as Job[];
  const sorted = useMemo(
    () => [...jobs].sort((a, b) => Number(b.status === 'succeeded') - Number(a.status === 'succeeded')),
    [jobs],
  );
  const [baseJob, setBaseJob] = useState(initialBaseJob);
  const base = sorted.find((j) => j.id === baseJob) ?? (baseJob ? undefined : sorted[0]);
  const baseId = base?.id ?? baseJob;
  const baseMetric = ((base?.spec as { validation?: { metric?: string } } | undefined)?.validation?.metric) ?? '';
  const [name, setName] = useState('');
  const [experiment, setExperiment] = useState('');
  const [method, setMethod] = useState<Method>('grid');
  const [rows, setRows] = useState<ParamRow[]>(() => [newRow('optimizer.lr')]);
  const [maxTrials, setMaxTrials] = useState('');
  const [parallelism, setParallelism] = useState('2');
  const [metric, setMetric] = useState<string | null>(null);
  const [direction, setDirection] = useState<Direction | null>(null);
  const [median, setMedian] = useState(false);
  const [grace, setGrace] = useState('3');
  const [minTrials, setMinTrials] = useState('3');
  const [register, setRegister] = useState(false);
  const [modelName, setModelName] = useState('');
  const [seed, setSeed] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  const metricValue = metric ?? baseMetric;
  const lowerIsBetter = /loss|error|mse|mae|rmse/.test(metricValue);
  const directionValue: Direction = direction ?? (lowerIsBetter ? 'minimize' : 'maximize');

  // After a refused submit, move the focus to the first field the API named.
  const [focusTick, setFocusTick] = useState(0);
  useEffect(() => {
    if (focusTick) formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
  }, [focusTick]);

  const updateRow = (key: number, patch: Partial<ParamRow>) => setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));
  const paramField = (r: ParamRow) => `search.parameters.${r.path.trim()}`;
  /** The error for a parameter row's own field ("" = the row, "min", "max"). */
  function rowError(r: ParamRow, part: '' | 'min' | 'max'): string | undefined {
    const f = paramField(r);
    if (part) return errors[`${f}.${part}`];
    return errors[f] ?? Object.entries(errors).find(([k]) => k.startsWith(f + '.') && !k.endsWith('.min') && !k.endsWith('.max'))?.[1];
  }

  function localErrors(): FieldErrors {
    const out: FieldErrors = {};
    const seen = new Set<string>();
    rows.forEach((r, i) => {
      const p = r.path.trim();
      if (!p) out[`row:${r.key}`] = `Give parameter ${i + 1} a path, e.g. optimizer.lr`;
      else if (seen.has(p)) out[paramField(r)] = `${p} is listed twice`;
      seen.add(p);
    });
    if (rows.length === 0) out['search.parameters'] = 'Add at least one parameter';
    return out;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const local = localErrors();
    if (Object.keys(local).length) {
      setErrors(local);
      setFormError('The sweep was not started: check the marked fields.');
      setFocusTick((t) => t + 1);
      return;
    }
    const parameters: Record<string, unknown> = {};
    for (const r of rows) {
      parameters[r.path.trim()] =
        r.kind === 'values'
          ? parseValues(r.values)
          : {
              ...(r.min.trim() !== '' ? { min: Number(r.min) } : {}),
              ...(r.max.trim() !== '' ? { max: Number(r.max) } : {}),
              scale: r.scale,
              type: r.type,
            };
    }
    const body: SweepSpec = {
      name: name.trim() || `${base?.name ?? 'job'}-sweep`,
      ...(experiment.trim() ? { experiment: experiment.trim() } : {}),
      base_job: baseId,
      search: { method, parameters: parameters as NonNullable<SweepSpec['search']>['parameters'] },
      ...(maxTrials.trim() ? { max_trials: Number(maxTrials) } : {}),
      parallelism: Number(parallelism),
      objective: { ...(metricValue.trim() ? { metric: metricValue.trim() } : {}), direction: directionValue },
      early_termination: median
        ? { policy: 'median', grace_epochs: Number(grace), min_trials: Number(minTrials) }
        : { policy: 'none' },
      ...(register ? { register: { model_name: modelName.trim() || `${base?.name ?? 'sweep'}-best` } } : {}),
      ...(seed.trim() ? { seed: Number(seed) } : {}),
    };
    setPending(true);
    setErrors({});
    try {
      const s = await api.post('/api/v1/training/sweeps', { body });
      navigate(`/sweeps/${seg(s.id ?? '')}`);
    } catch (err) {
      const field = err instanceof ApiError && typeof err.details.field === 'string' ? err.details.field : '';
      if (field && isShown(field)) {
        setErrors({ [field]: err instanceof ApiError ? err.message : describeError(err) });
        setFormError('The sweep was not started: check the marked field.');
        setFocusTick((t) => t + 1);
      } else {
        setFormError(describeError(err));
      }
    } finally {
      setPending(false);
    }
  }

  /** Whether the form has a control that shows the error of `field`. */
  function isShown(field: string): boolean {
    if (SIMPLE_FIELDS.has(field) || field.startsWith('early_termination.') || field.startsWith('base')) return true;
    if (field === 'search.parameters') return true;
    return rows.some((r) => field === paramField(r) || field.startsWith(paramField(r) + '.'));
  }
  const err = (f: string) => errors[f];

  return (
    <Card title="New sweep">
      <AsyncView state={jobsState} isEmpty={() => jobs.length === 0} empty="Train a job first: a sweep starts from an existing job's spec.">
        {() => (
          <form ref={formRef} onSubmit={submit} className="form-grid" noValidate aria-label="New sweep">
            <SelectField
              label="Base job"
              value={baseId}
              onChange={setBaseJob}
              options={[
                ...(base ? [] : [{ value: baseJob, label: baseJob }]),
                ...sorted.map((j) => ({ value: j.id, label: `${j.name} · ${j.experiment} · ${j.status}` })),
              ]}
              hint="the sweep varies this job's spec"
              error={err('base_job') ?? Object.entries(errors).find(([k]) => k === 'base' || k.startsWith('base.'))?.[1]}
            />
            <TextField label="Sweep name" value={name} onChange={setName} placeholder={`${base?.name ?? 'job'}-sweep`} error={err('name')} />
            <TextField
              label="Experiment"
              value={experiment}
              onChange={setExperiment}
              placeholder={base?.experiment ?? ''}
              hint="default: the base job's experiment"
              error={err('experiment')}
            />
            <SelectField<Method>
              label="Search method"
              value={method}
              onChange={setMethod}
              options={[
                { value: 'grid', label: 'grid (every combination of the values)' },
                { value: 'random', label: 'random (samples values and ranges)' },
              ]}
              error={err('search.method')}
            />
            <fieldset className="fieldset fieldset-params">
              <legend>Parameters</legend>
              <p className="small muted">
                A spec path such as optimizer.lr, batch_size, epochs, model.params.dropout or early_stopping.patience, with
                comma-separated values or (random search) a range.
              </p>
              {err('search.parameters') && (
                <p className="field-error" role="alert">
                  {err('search.parameters')}
                </p>
              )}
              {rows.map((r, i) => (
                <div className="param-row" key={r.key} data-testid={`param-row-${i + 1}`}>
                  <div className="wide-field field-wrap">
                    <TextField
                      label={`Parameter ${i + 1} path`}
                      value={r.path}
                      onChange={(v) => updateRow(r.key, { path: v })}
                      placeholder="optimizer.lr"
                      error={errors[`row:${r.key}`] ?? (r.path.trim() ? rowError(r, '') : undefined)}
                    />
                  </div>
                  <SelectField<Kind>
                    label={`Parameter ${i + 1} kind`}
                    value={r.kind}
                    onChange={(v) => updateRow(r.key, { kind: v })}
                    options={[
                      { value: 'values', label: 'values' },
                      { value: 'range', label: 'range (min–max)' },
                    ]}
                  />
                  {r.kind === 'values' ? (
                    <TextField
                      label={`Parameter ${i + 1} values`}
                      value={r.values}
                      onChange={(v) => updateRow(r.key, { values: v })}
                      placeholder="0.001, 0.01, 0.1"
                    />
                  ) : (
                    <>
                      <TextField
                        label={`Parameter ${i + 1} min`}
                        type="number"
                        step="any"
                        value={r.min}
                        onChange={(v) => updateRow(r.key, { min: v })}
                        error={r.path.trim() ? rowError(r, 'min') : undefined}
                      />
                      <TextField
                        label={`Parameter ${i + 1} max`}
                        type="number"
                        step="any"
                        value={r.max}
                        onChange={(v) => updateRow(r.key, { max: v })}
                        error={r.path.trim() ? rowError(r, 'max') : undefined}
                      />
                      <SelectField<Scale>
                        label={`Parameter ${i + 1} scale`}
                        value={r.scale}
                        onChange={(v) => updateRow(r.key, { scale: v })}
                        options={['linear', 'log']}
                      />
                      <SelectField<NumberType>
                        label={`Parameter ${i + 1} type`}
                        value={r.type}
                        onChange={(v) => updateRow(r.key, { type: v })}
                        options={['float', 'int']}
                      />
                    </>
                  )}
                  <Button small onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))} label={`Remove parameter ${i + 1}`}>
                    Remove
                  </Button>
                </div>
              ))}
              <Button small onClick={() => setRows((rs) => [...rs, newRow()])}>
                Add a parameter
              </Button>
            </fieldset>
            <TextField
              label="Max trials"
              type="number"
              min={1}
              max={500}
              value={maxTrials}
              onChange={setMaxTrials}
              hint={method === 'grid' ? 'default: every combination' : 'default: 10'}
              error={err('max_trials')}
            />
            <TextField label="Parallelism" type="number" min={1} max={64} value={parallelism} onChange={setParallelism} hint="trials running at once" error={err('parallelism')} />
            <TextField
              label="Objective metric"
              value={metricValue}
              onChange={setMetric}
              hint="a validation metric, e.g. accuracy, r2 or val_loss"
              error={err('objective.metric') ?? err('objective')}
            />
            <SelectField<Direction>
              label="Direction"
              value={directionValue}
              onChange={setDirection}
              options={['maximize', 'minimize']}
              error={err('objective.direction')}
            />
            <TextField label="Seed" type="number" value={seed} onChange={setSeed} hint="optional: makes random search repeatable" error={err('seed')} />
            <fieldset className="fieldset">
              <legend>Early termination</legend>
              <CheckField label="Stop trials below the median (median stopping)" checked={median} onChange={setMedian} />
              {median && (
                <>
                  <TextField
                    label="Grace epochs"
                    type="number"
                    min={0}
                    value={grace}
                    onChange={setGrace}
                    hint="epochs before a trial can be stopped"
                    error={err('early_termination.grace_epochs') ?? err('early_termination.policy') ?? err('early_termination')}
                  />
                  <TextField
                    label="Min trials"
                    type="number"
                    min={1}
                    value={minTrials}
                    onChange={setMinTrials}
                    hint="finished trials needed for a median"
                    error={err('early_termination.min_trials')}
                  />
                </>
              )}
            </fieldset>
            <CheckField label="Register the best trial's model" checked={register} onChange={setRegister} />
            {register && (
              <TextField
                label="Model name"
                value={modelName}
                onChange={setModelName}
                placeholder={`${base?.name ?? 'sweep'}-best`}
                error={err('register.model_name') ?? err('register')}
              />
            )}
            <div className="form-actions">
              <Button type="submit" kind="primary" pending={pending} disabled={!baseId}>
                Start sweep
              </Button>
            </div>
            <ErrorBox error={formError} />
          </form>
        )}
      </AsyncView>
    </Card>
  );
}

const SIMPLE_FIELDS = new Set([
  'name', 'experiment', 'base_job', 'search.method', 'max_trials', 'parallelism', 'objective', 'objective.metric',
  'objective.direction', 'seed', 'register', 'register.model_name', 'early_termination',
]);

function describeSearch(spec: unknown): string {
  if (Array.isArray(spec)) return spec.map(formatParamValue).join(', ');
  const p = (spec ?? {}) as { values?: unknown[]; min?: number; max?: number; scale?: string; type?: string };
  if (p.values) return p.values.map(formatParamValue).join(', ');
  return `${formatNumber(p.min)} to ${formatNumber(p.max)} (${p.scale ?? 'linear'}, ${p.type ?? 'float'})`;
}

export function SweepDetailPage({ id }: { id: string }) {
  const auth = useAuth();
  const sweep = useAsync((signal) => api.get('/api/v1/training/sweeps/{id}', { signal, path: { id } }), [id]);
  const s = sweep.data;
  const live = useConnectionState();
  const action = useAction();
  const [events, setEvents] = useState<RealtimeEvent[]>([]);
  const [epochs, setEpochs] = useState<Record<string, number>>({});
  const active = ACTIVE_SWEEP.has(s?.status ?? '');
  const running = (s?.trials ?? []).filter((t) => t.status === 'running' && t.job_id).map((t) => t.job_id as string);
  const sweepRoom = `training.${id}`;

  useRealtime(
    [sweepRoom, ...running.map((j) => `training.${j}`)],
    (e) => {
      if (e.room === sweepRoom) {
        setEvents((l) => (l.some((x) => x.id === e.id) ? l : [e, ...l].slice(0, 100)));
        sweep.reload();
        return;
      }
      if (e.type === 'training.job.progress' && e.room && e.data) {
        const job = e.room.slice('training.'.length);
        const epoch = Number(e.data.epoch);
        setEpochs((m) => (m[job] === epoch ? m : { ...m, [job]: epoch }));
      }
    },
    { history: true },
  );
  // Events carry the changes; poll only while the WebSocket is down (and rarely as a safety net).
  useInterval(() => sweep.reload(), active ? (live === 'live' ? 15000 : 3000) : null);

  async function cancel() {
    const r = await action.run(() => api.post('/api/v1/training/sweeps/{id}/cancel', { path: { id } }), 'Cancelling: running trials stop, pending ones are not started.');
    if (r) sweep.setData(r);
  }

  const model = s?.model as { name?: string; version?: number } | null | undefined;
  const objective = (s?.objective ?? {}) as { metric?: string; direction?: string };
  const early = (s?.early_termination ?? {}) as { policy?: string; grace_epochs?: number; min_trials?: number };
  const search = (s?.search ?? {}) as { method?: string; parameters?: Record<string, unknown> };
  const baseEpochs = (s?.base as { epochs?: number } | undefined)?.epochs;

  return (
    <Page
      title={s ? `Sweep ${s.name}` : 'Sweep'}
      actions={
        s &&
        active &&
        auth.can('training:run') && (
          <Button kind="danger" onClick={() => void cancel()} pending={action.pending}>
            Cancel sweep
          </Button>
        )
      }
    >
      <p>
        <Link to="/sweeps">← All sweeps</Link>
        {s?.experiment && (
          <>
            {' · '}
            <Link to={experimentPath(s.experiment)}>{`experiment ${s.experiment}`}</Link>
          </>
        )}
      </p>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView state={sweep}>
        {(d) => (
          <>
            <Card>
              <dl className="kv kv-wide">
                <dt>Status</dt>
                <dd data-testid="sweep-status">
                  <Badge tone={statusTone(d.status ?? '')}>{d.status}</Badge>
                  {d.error ? <span className="error-message"> {d.error}</span> : null}
                </dd>
                <dt>Trials</dt>
                <dd data-testid="sweep-progress">
                  <Progress value={d.trials_done ?? 0} max={trialCount(d)} label="Trials done" /> {`${d.trials_done ?? 0} of ${trialCount(d)} done`}
                </dd>
                <dt>Objective</dt>
                <dd>{`${objective.metric ?? '—'} (${objective.direction ?? 'maximize'})`}</dd>
                <dt>Best</dt>
                <dd data-testid="sweep-best">
                  {d.best ? (
                    <Link to={`/training/${seg(d.best.job_id ?? '')}`}>{`${formatNumber(d.best.value)} (trial ${d.best.trial})`}</Link>
                  ) : (
                    '—'
                  )}
                </dd>
                <dt>Search</dt>
                <dd>{`${search.method ?? 'grid'}, ${d.parallelism ?? 1} at once${d.seed !== undefined ? `, seed ${d.seed}` : ''}`}</dd>
                <dt>Early termination</dt>
                <dd>
                  {early.policy === 'median'
                    ? `median stopping after ${early.grace_epochs ?? 0} epochs, from ${early.min_trials ?? 0} finished trials`
                    : 'none'}
                </dd>
                <dt>Model</dt>
                <dd data-testid="sweep-model">
                  {model?.name ? <Link to={`/models/${seg(model.name)}`}>{`${model.name} v${model.version}`}</Link> : '—'}
                </dd>
                <dt>Started</dt>
                <dd>{formatDate(d.created_at)}</dd>
              </dl>
              <Table caption="Searched parameters">
                <thead>
                  <tr>
                    <th scope="col">Parameter</th>
                    <th scope="col">Values or range</th>
                  </tr>
                </thead>
                <tbody>
                  {Object.entries(search.parameters ?? {}).map(([path, spec]) => (
                    <tr key={path}>
                      <th scope="row" className="mono">
                        {path}
                      </th>
                      <td>{describeSearch(spec)}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </Card>
            <Card title="Trials">
              <TrialsTable trials={d.trials ?? []} epochs={epochs} totalEpochs={baseEpochs} />
            </Card>
            <Card title="Live events">
              {events.length === 0 ? (
                <p className="muted">{live === 'live' ? 'No sweep event yet.' : 'Waiting for the live connection…'}</p>
              ) : (
                <ol className="plain events" aria-label="Sweep events, newest first" data-testid="sweep-events">
                  {events.map((e) => (
                    <li key={e.id}>
                      <span className="muted small">{formatDate(e.ts)}</span> <code>{e.type.replace('training.sweep.', '')}</code>
                      {e.data?.trial !== undefined ? ` trial ${String(e.data.trial)}` : ''}
                      {e.data?.trial_status ? ` ${String(e.data.trial_status)}` : ''}
                      {` · ${String(e.data?.trials_done ?? 0)} done · status ${String(e.data?.status ?? '')}`}
                    </li>
                  ))}
                </ol>
              )}
            </Card>
          </>
        )}
      </AsyncView>
    </Page>
  );
}

function TrialsTable({ trials, epochs, totalEpochs }: { trials: SweepTrial[]; epochs: Record<string, number>; totalEpochs?: number }) {
  const paths = [...new Set(trials.flatMap((t) => Object.keys((t.params ?? {}) as Record<string, unknown>)))];
  if (trials.length === 0) return <p className="muted">No trial yet.</p>;
  return (
    <Table caption="Trials">
      <thead>
        <tr>
          <th scope="col">Trial</th>
          {paths.map((p) => (
            <th scope="col" key={p} className="mono">
              {p}
            </th>
          ))}
          <th scope="col">Status</th>
          <th scope="col">Progress</th>
          <th scope="col">Value</th>
          <th scope="col">Job</th>
        </tr>
      </thead>
      <tbody>
        {trials.map((t) => {
          const params = (t.params ?? {}) as Record<string, unknown>;
          const epoch = t.job_id ? epochs[t.job_id] : undefined;
          const trialEpochs = typeof params.epochs === 'number' ? params.epochs : totalEpochs;
          return (
            <tr key={t.trial} data-testid={`trial-${t.trial}`} className={t.best ? 'row-best' : undefined}>
              <th scope="row">
                {`#${t.trial}`} {t.best && <Badge tone="good">best</Badge>}
              </th>
              {paths.map((p) => (
                <td key={p} className="mono">
                  {p in params ? formatParamValue(params[p]) : '—'}
                </td>
              ))}
              <td>
                <Badge tone={trialTone(t.status)}>{t.status}</Badge>
              </td>
              <td className="small">
                {t.status === 'running' && epoch !== undefined
                  ? `epoch ${epoch}${trialEpochs ? ` of ${trialEpochs}` : ''}`
                  : t.status === 'running' || t.status === 'launching'
                    ? 'starting'
                    : '—'}
              </td>
              <td>{formatNumber(t.value)}</td>
              <td>{t.job_id ? <Link to={`/training/${seg(t.job_id)}`}>{`job of trial ${t.trial}`}</Link> : '—'}</td>
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}
