// Experiments: the list (runs, counts per status, best run; archive and unarchive), an experiment's runs with
// filters (status, bounds on a metric, a parameter's value) and sorting by a metric, and the comparison of 2–10
// selected runs: parameters with the differing ones marked, best and final metrics, and their curves per epoch.
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import type { Experiment, RunComparison } from '../../api/types';
import { Link, navigate, seg, useLocation, withQuery } from '../../app/router';
import { useAuth } from '../../auth/session';
import { LineChart, type Series } from '../../components/Chart';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, SelectField, Table, TextField, formatDate, formatNumber,
  useAction, useAsync, useInterval,
} from '../../components/ui';
import { ACTIVE, statusTone, type Job } from './Training';

/** The comparison endpoint takes 2 to 10 runs. */
const MIN_COMPARE = 2;
const MAX_COMPARE = 10;
const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

export function experimentPath(name: string): string {
  return `/experiments/${seg(name)}`;
}

function StatusCounts({ counts }: { counts: Record<string, number> | undefined }) {
  const entries = Object.entries(counts ?? {}).filter(([, n]) => n > 0);
  if (entries.length === 0) return <>—</>;
  return (
    <>
      {entries.map(([s, n]) => (
        <Badge key={s} tone={statusTone(s)}>{`${s} ${n}`}</Badge>
      ))}
    </>
  );
}

/** Archive / unarchive an experiment (permission training:run); `done` gets the new summary. */
function useArchive(done: (e: Experiment) => void) {
  const action = useAction();
  async function toggle(e: Experiment) {
    const name = e.name ?? '';
    const r = e.archived
      ? await action.run(() => api.post('/api/v1/experiments/{name}/unarchive', { path: { name } }), `Experiment ${name} is active again.`)
      : await action.run(() => api.post('/api/v1/experiments/{name}/archive', { path: { name } }), `Experiment ${name} was archived.`);
    if (r) done(r);
  }
  return { action, toggle };
}

export function ExperimentsPage() {
  const auth = useAuth();
  const [showArchived, setShowArchived] = useState(false);
  const list = useAsync(
    (signal) => api.get('/api/v1/experiments', { signal, query: { archived: showArchived || undefined } }),
    [showArchived],
  );
  const items = list.data?.items ?? [];
  useInterval(() => list.reload(), items.some((e) => (e.by_status?.running ?? 0) + (e.by_status?.queued ?? 0) > 0) ? 3000 : 15000);
  const { action, toggle } = useArchive(() => list.reload());
  const canRun = auth.can('training:run');

  return (
    <Page title="Experiments">
      <p className="muted">
        Every training job belongs to an experiment (its <code>experiment</code> field). Sweeps add their trials to one.
      </p>
      <div className="filters">
        <CheckField label="Show archived experiments" checked={showArchived} onChange={setShowArchived} />
      </div>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      <AsyncView
        state={list}
        isEmpty={() => items.length === 0}
        empty={showArchived ? 'No experiment yet.' : 'No active experiment. Start a training job to create one.'}
      >
        {() => (
          <Table caption="Experiments">
            <thead>
              <tr>
                <th scope="col">Experiment</th>
                <th scope="col">Runs</th>
                <th scope="col">Status</th>
                <th scope="col">Best</th>
                <th scope="col">Last run</th>
                {canRun && (
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.name} data-testid={`experiment-${e.name}`}>
                  <th scope="row">
                    <Link to={experimentPath(e.name ?? '')}>{e.name}</Link> {e.archived && <Badge tone="muted">archived</Badge>}
                    {e.description ? <div className="small muted">{e.description}</div> : null}
                  </th>
                  <td>{e.runs ?? 0}</td>
                  <td>
                    <StatusCounts counts={e.by_status} />
                  </td>
                  <td>
                    {e.best ? (
                      <Link to={`/training/${seg(e.best.job_id ?? '')}`}>{`${e.metric ?? ''} ${formatNumber(e.best.value)}`}</Link>
                    ) : (
                      '—'
                    )}
                  </td>
                  <td>{formatDate(e.last_run_at)}</td>
                  {canRun && (
                    <td>
                      <Button small onClick={() => void toggle(e)} pending={action.pending} label={`${e.archived ? 'Unarchive' : 'Archive'} ${e.name}`}>
                        {e.archived ? 'Unarchive' : 'Archive'}
                      </Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </AsyncView>
    </Page>
  );
}

/** A job spec flattened to dotted paths (arrays and scalars as JSON text), as the comparison does on the server. */
function flatten(value: unknown, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return out;
}

/** The parameters that differ between the listed runs (leaving out names and tags). */
function differingParams(jobs: Job[]): string[] {
  const flat = jobs.map((j) => flatten(j.spec));
  const keys = new Set(flat.flatMap((f) => Object.keys(f)));
  return [...keys]
    .filter((k) => k !== 'name' && k !== 'experiment' && !k.startsWith('tags.'))
    .filter((k) => new Set(flat.map((f) => f[k] ?? '')).size > 1)
    .sort();
}

interface RunFilters {
  status: string;
  metric: string;
  min: string;
  max: string;
  param: string;
  value: string;
  sort: string;
  order: 'desc' | 'asc';
}

const NO_FILTERS: RunFilters = { status: '', metric: '', min: '', max: '', param: '', value: '', sort: '', order: 'desc' };

export function ExperimentDetailPage({ name }: { name: string }) {
  const auth = useAuth();
  const [form, setForm] = useState<RunFilters>(NO_FILTERS);
  const [applied, setApplied] = useState<RunFilters>(NO_FILTERS);
  const [chosen, setChosen] = useState<string[]>([]);
  const set = <K extends keyof RunFilters>(k: K) => (v: RunFilters[K]) => setForm((f) => ({ ...f, [k]: v }));

  const data = useAsync((signal) => {
    // param.<path>, min.<metric> and max.<metric> are keys the OpenAPI document cannot list one by one.
    const dynamic: Record<string, string> = {};
    const metric = applied.metric;
    if (metric && applied.min.trim()) dynamic[`min.${metric}`] = applied.min.trim();
    if (metric && applied.max.trim()) dynamic[`max.${metric}`] = applied.max.trim();
    if (applied.param.trim()) dynamic[`param.${applied.param.trim()}`] = applied.value.trim();
    return api.get('/api/v1/experiments/{name}', {
      signal,
      path: { name },
      query: {
        status: applied.status || undefined,
        sort: applied.sort || undefined,
        order: applied.sort ? applied.order : undefined,
        limit: 200,
        ...(dynamic as object),
      },
    });
  }, [name, applied]);
  const exp = data.data;
  const jobs = ((exp?.items ?? []) as unknown) as Job[];
  useInterval(() => data.reload(), jobs.some((j) => ACTIVE.has(j.status)) ? 3000 : 15000);
  const { action, toggle } = useArchive((e) => data.setData({ ...e, items: exp?.items ?? [] }));

  // Metric names seen in this experiment's runs (for the bounds and the sort order); kept while filters narrow the list.
  const [metricNames, setMetricNames] = useState<string[]>([]);
  useEffect(() => {
    const names = new Set(metricNames);
    if (exp?.metric) names.add(exp.metric);
    for (const j of jobs) for (const m of Object.keys(j.best?.metrics ?? {})) if (m !== 'epoch') names.add(m);
    const list = [...names].sort();
    if (list.join('\u0000') !== metricNames.join('\u0000')) setMetricNames(list);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [exp]);
  const boundMetric = form.metric || exp?.metric || metricNames[0] || '';
  const differing = useMemo(() => differingParams(jobs), [jobs]);
  const sortMetric = applied.sort;

  function apply(e: FormEvent) {
    e.preventDefault();
    setApplied({ ...form, metric: boundMetric });
  }
  function reset() {
    setForm(NO_FILTERS);
    setApplied(NO_FILTERS);
  }
  const tooMany = chosen.length > MAX_COMPARE;

  return (
    <Page
      title={`Experiment ${name}`}
      actions={
        exp &&
        auth.can('training:run') && (
          <>
            {exp.best?.job_id && (
              <Link className="btn" to={withQuery('/sweeps', { base_job: exp.best.job_id })}>
                Sweep from the best run
              </Link>
            )}
            <Button kind={exp.archived ? 'default' : 'danger'} onClick={() => void toggle(exp)} pending={action.pending}>
              {exp.archived ? 'Unarchive' : 'Archive'}
            </Button>
          </>
        )
      }
    >
      <p>
        <Link to="/experiments">← All experiments</Link>
      </p>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      {exp && (
        <Card>
          <dl className="kv kv-wide" data-testid="experiment-summary">
            <dt>Runs</dt>
            <dd>{exp.runs ?? 0}</dd>
            <dt>Status</dt>
            <dd>
              <StatusCounts counts={exp.by_status} /> {exp.archived && <Badge tone="muted">archived</Badge>}
            </dd>
            <dt>Best</dt>
            <dd>
              {exp.best ? (
                <Link to={`/training/${seg(exp.best.job_id ?? '')}`}>{`${exp.metric ?? ''} ${formatNumber(exp.best.value)}`}</Link>
              ) : (
                '—'
              )}
            </dd>
            <dt>Last run</dt>
            <dd>{formatDate(exp.last_run_at)}</dd>
          </dl>
        </Card>
      )}
      <form className="filters" role="search" aria-label="Filter runs" onSubmit={apply}>
        <SelectField label="Status" value={form.status} onChange={set('status')} options={[{ value: '', label: 'any' }, ...STATUSES]} />
        <SelectField
          label="Metric"
          value={boundMetric}
          onChange={set('metric')}
          options={metricNames.length ? metricNames : [{ value: '', label: 'no metric yet' }]}
          hint="bounds apply to the best value"
        />
        <TextField label="Min" type="number" step="any" value={form.min} onChange={set('min')} />
        <TextField label="Max" type="number" step="any" value={form.max} onChange={set('max')} />
        <TextField label="Parameter" value={form.param} onChange={set('param')} placeholder="optimizer.lr" />
        <TextField label="Parameter value" value={form.value} onChange={set('value')} placeholder="0.01" />
        <SelectField
          label="Sort by"
          value={form.sort}
          onChange={set('sort')}
          options={[{ value: '', label: 'newest first' }, ...metricNames]}
        />
        {form.sort && (
          <SelectField<'desc' | 'asc'>
            label="Order"
            value={form.order}
            onChange={set('order')}
            options={[
              { value: 'desc', label: 'highest first' },
              { value: 'asc', label: 'lowest first' },
            ]}
          />
        )}
        <Button type="submit">Filter</Button>
        <Button onClick={reset}>Reset</Button>
      </form>
      <AsyncView state={data} isEmpty={() => jobs.length === 0} empty="No run matches these filters.">
        {() => (
          <>
            <div className="row">
              <Button
                kind="primary"
                disabled={chosen.length < MIN_COMPARE || tooMany}
                onClick={() => navigate(withQuery(`${experimentPath(name)}/compare`, { jobs: chosen.join(',') }))}
              >
                {`Compare selected runs (${chosen.length})`}
              </Button>
              <span className="muted small" aria-live="polite">
                {tooMany
                  ? `Select at most ${MAX_COMPARE} runs.`
                  : chosen.length < MIN_COMPARE
                    ? `Select ${MIN_COMPARE} to ${MAX_COMPARE} runs to compare them.`
                    : ''}
              </span>
            </div>
            <Table caption={`Runs of ${name}`}>
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">Select</span>
                  </th>
                  <th scope="col">Run</th>
                  <th scope="col">Status</th>
                  <th scope="col">Parameters that differ</th>
                  <th scope="col">{`Best ${exp?.metric ?? ''}`}</th>
                  {sortMetric && sortMetric !== exp?.metric && <th scope="col">{sortMetric}</th>}
                  <th scope="col">Epoch</th>
                  <th scope="col">Model</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => {
                  const flat = flatten(j.spec);
                  const isBest = exp?.best?.job_id === j.id;
                  return (
                    <tr key={j.id} data-testid={`run-${j.name}`} className={isBest ? 'row-best' : undefined}>
                      <td>
                        <CheckField
                          label={`Select ${j.name}`}
                          checked={chosen.includes(j.id)}
                          onChange={(on) => setChosen((c) => (on ? [...c, j.id] : c.filter((x) => x !== j.id)))}
                        />
                      </td>
                      <th scope="row">
                        <Link to={`/training/${seg(j.id)}`}>{j.name}</Link> {isBest && <Badge tone="good">best</Badge>}
                      </th>
                      <td>
                        <Badge tone={statusTone(j.status)}>{j.status}</Badge>
                      </td>
                      <td className="mono small">
                        {differing.length === 0
                          ? '—'
                          : differing.slice(0, 6).map((k) => <div key={k}>{`${k} = ${flat[k] ?? '—'}`}</div>)}
                      </td>
                      <td>{j.best ? formatNumber(j.best.value) : '—'}</td>
                      {sortMetric && sortMetric !== exp?.metric && <td>{formatNumber(j.best?.metrics?.[sortMetric])}</td>}
                      <td>{j.best ? j.best.epoch : '—'}</td>
                      <td>{j.model ? <Link to={`/models/${seg(j.model.name)}`}>{`${j.model.name} v${j.model.version}`}</Link> : '—'}</td>
                      <td>{formatDate(j.created_at)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </Table>
          </>
        )}
      </AsyncView>
    </Page>
  );
}

type ComparedRun = NonNullable<RunComparison['runs']>[number];

function runLabels(runs: ComparedRun[]): string[] {
  // Two runs may share a name: add the start of the id to tell them apart.
  const count = new Map<string, number>();
  for (const r of runs) count.set(r.name ?? '', (count.get(r.name ?? '') ?? 0) + 1);
  return runs.map((r) => ((count.get(r.name ?? '') ?? 0) > 1 ? `${r.name} (${(r.id ?? '').slice(-6)})` : r.name ?? r.id ?? ''));
}

function MetricsTable({ caption, runs, labels, pick }: { caption: string; runs: ComparedRun[]; labels: string[]; pick: (r: ComparedRun) => Record<string, unknown> | null | undefined }) {
  const names = [...new Set(runs.flatMap((r) => Object.keys(pick(r) ?? {})))].sort((a, b) => (a === 'epoch' ? -1 : b === 'epoch' ? 1 : a.localeCompare(b)));
  if (names.length === 0) return <p className="muted">{`${caption}: none yet.`}</p>;
  return (
    <Table caption={caption}>
      <thead>
        <tr>
          <th scope="col">Metric</th>
          {labels.map((l, i) => (
            <th scope="col" key={runs[i].id}>
              {l}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {names.map((m) => (
          <tr key={m}>
            <th scope="row">{m}</th>
            {runs.map((r) => {
              const v = pick(r)?.[m];
              return <td key={r.id}>{typeof v === 'number' ? formatNumber(v) : '—'}</td>;
            })}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

export function ComparePage({ name }: { name: string }) {
  const loc = useLocation();
  const jobs = loc.query.get('jobs') ?? '';
  const data = useAsync((signal) => api.get('/api/v1/experiments/{name}/compare', { signal, path: { name }, query: { jobs } }), [name, jobs]);
  const [metric, setMetric] = useState('');
  const [onlyDiffering, setOnlyDiffering] = useState(false);

  return (
    <Page title={`Compare runs of ${name}`}>
      <p>
        <Link to={experimentPath(name)}>{`← Experiment ${name}`}</Link>
      </p>
      <AsyncView state={data} isEmpty={(d) => (d.runs ?? []).length === 0} empty="No run to compare.">
        {(d) => {
          const runs = d.runs ?? [];
          const labels = runLabels(runs);
          const curves = d.curves ?? {};
          const metricNames = Object.keys(curves).sort();
          const defaultMetric = metricNames.includes(runs[0]?.metric ?? '') ? runs[0].metric ?? '' : metricNames.includes('val_loss') ? 'val_loss' : metricNames[0] ?? '';
          const shown = metricNames.includes(metric) ? metric : defaultMetric;
          const xs = d.epochs ?? [];
          const series: Series[] = runs.map((r, i) => ({ label: labels[i], values: curves[shown]?.[r.id ?? ''] ?? xs.map(() => null) }));
          const differing = new Set(d.differing_params ?? []);
          const params = [...new Set(runs.flatMap((r) => Object.keys(r.params ?? {})))]
            .filter((p) => !onlyDiffering || differing.has(p))
            .sort((a, b) => Number(differing.has(b)) - Number(differing.has(a)) || a.localeCompare(b));
          return (
            <>
              <Card title="Runs">
                <Table caption="Compared runs">
                  <thead>
                    <tr>
                      <th scope="col">Run</th>
                      <th scope="col">Status</th>
                      <th scope="col">Objective metric</th>
                      <th scope="col">Best value</th>
                      <th scope="col">Model</th>
                    </tr>
                  </thead>
                  <tbody>
                    {runs.map((r, i) => {
                      const model = r.model as { name?: string; version?: number } | null | undefined;
                      const best = (r.best_metrics ?? {}) as Record<string, unknown>;
                      const v = best[r.metric ?? ''];
                      return (
                        <tr key={r.id}>
                          <th scope="row">
                            <Link to={`/training/${seg(r.id ?? '')}`}>{labels[i]}</Link>
                          </th>
                          <td>
                            <Badge tone={statusTone(r.status ?? '')}>{r.status}</Badge>
                          </td>
                          <td>{r.metric || '—'}</td>
                          <td>{typeof v === 'number' ? formatNumber(v) : '—'}</td>
                          <td>{model?.name ? <Link to={`/models/${seg(model.name)}`}>{`${model.name} v${model.version}`}</Link> : '—'}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </Table>
              </Card>
              <Card title="Curves per epoch">
                {metricNames.length === 0 ? (
                  <p className="muted">These runs have no metric per epoch yet.</p>
                ) : (
                  <>
                    <div className="filters">
                      <SelectField label="Curve metric" value={shown} onChange={setMetric} options={metricNames} />
                    </div>
                    <div data-testid="compare-chart" data-metric={shown} data-series={series.length} data-epochs={xs.length}>
                      <LineChart title={`${shown} per epoch`} x={xs} series={series} time={false} yLabel={shown} />
                    </div>
                  </>
                )}
              </Card>
              <div className="grid grid-2">
                <Card title="Best metrics">
                  <MetricsTable caption="Best metrics" runs={runs} labels={labels} pick={(r) => r.best_metrics as Record<string, unknown>} />
                </Card>
                <Card title="Final metrics">
                  <MetricsTable caption="Final metrics" runs={runs} labels={labels} pick={(r) => r.final_metrics as Record<string, unknown> | null} />
                </Card>
              </div>
              <Card title="Parameters">
                <p className="muted small">
                  {differing.size === 0
                    ? 'All parameters are the same.'
                    : `${differing.size} parameter${differing.size === 1 ? '' : 's'} differ${differing.size === 1 ? 's' : ''}; they are marked and listed first.`}
                </p>
                <CheckField label="Only parameters that differ" checked={onlyDiffering} onChange={setOnlyDiffering} />
                <Table caption="Parameters of the compared runs">
                  <thead>
                    <tr>
                      <th scope="col">Parameter</th>
                      {labels.map((l, i) => (
                        <th scope="col" key={runs[i].id}>
                          {l}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {params.map((p) => (
                      <tr key={p} className={differing.has(p) ? 'row-diff' : undefined} data-testid={`param-${p}`}>
                        <th scope="row" className="mono">
                          {p} {differing.has(p) && <Badge tone="warn">differs</Badge>}
                        </th>
                        {runs.map((r) => (
                          <td key={r.id} className="mono small">
                            {r.params?.[p] ?? '—'}
                          </td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </Table>
              </Card>
            </>
          );
        }}
      </AsyncView>
    </Page>
  );
}
