// Training: submit a job from a form with sensible defaults, list jobs (live while any runs), a job's page with
// live loss and metric charts per epoch (WebSocket room training.<job>), logs and checkpoints, cancel/resume,
// and a comparison of the runs of an experiment (their validation metric per epoch on one chart).
import { useCallback, useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../../api/client';
import { Link, navigate, seg, useLocation, withQuery } from '../../app/router';
import { useAuth } from '../../auth/session';
import { LineChart, type Series } from '../../components/Chart';
import {
  AsyncView, Badge, Button, Card, CheckField, ErrorBox, Notice, Page, Progress, SelectField, Table, TextField, formatDate,
  formatNumber, useAction, useAsync, useInterval,
} from '../../components/ui';
import { useRealtime } from '../../realtime/ws';

/** A training job as the API answers it. */
export interface Job {
  id: string;
  name: string;
  experiment: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  epoch: number;
  epochs: number;
  progress: number;
  best: { metric: string; value: number | null; epoch: number; metrics: Record<string, number> } | null;
  model: { name: string; version: number } | null;
  spec: Record<string, unknown>;
  dataset: { id: string; sha256: string };
  cancel_requested?: boolean;
  error?: string;
  created_by?: string;
  created_at?: string;
  started_at?: string | null;
  finished_at?: string | null;
}

interface MetricPoint {
  epoch: number;
  train_loss: number;
  val_loss: number;
  metrics: Record<string, number>;
  lr: number;
  samples_per_s: number;
}

export const ACTIVE = new Set(['queued', 'running']);

export function statusTone(s: string): string {
  return s === 'succeeded' ? 'good' : s === 'failed' ? 'bad' : s === 'running' ? 'info' : 'plain';
}

export function TrainingPage() {
  const auth = useAuth();
  const loc = useLocation();
  const [status, setStatus] = useState('');
  const [experiment, setExperiment] = useState(loc.query.get('experiment') ?? '');
  const [applied, setApplied] = useState({ status: '', experiment: loc.query.get('experiment') ?? '' });
  const datasetQuery = loc.query.get('dataset') ?? '';
  const [showForm, setShowForm] = useState(!!datasetQuery);
  // A link with ?dataset= (e.g. "Train a model") opens the form also when this page is already shown.
  useEffect(() => {
    if (datasetQuery) setShowForm(true);
  }, [datasetQuery]);
  const [chosen, setChosen] = useState<string[]>([]);
  const list = useAsync(
    (signal) =>
      api.get('/api/v1/training/jobs', {
        signal,
        query: { status: applied.status || undefined, experiment: applied.experiment || undefined, limit: 100 },
      }),
    [applied],
  );
  const jobs = ((list.data?.items ?? []) as unknown) as Job[];
  useInterval(() => list.reload(), jobs.some((j) => ACTIVE.has(j.status)) ? 2000 : 15000);

  return (
    <Page
      title="Training"
      actions={
        auth.can('training:run') && (
          <Button kind="primary" onClick={() => setShowForm((s) => !s)}>
            {showForm ? 'Close' : 'New training job'}
          </Button>
        )
      }
    >
      {showForm && <SubmitJob key={datasetQuery} initialDataset={datasetQuery} />}
      <form
        className="filters"
        role="search"
        aria-label="Filter training jobs"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied({ status, experiment: experiment.trim() });
        }}
      >
        <SelectField
          label="Status"
          value={status}
          onChange={setStatus}
          options={[{ value: '', label: 'any' }, 'queued', 'running', 'succeeded', 'failed', 'cancelled']}
        />
        <TextField label="Experiment" value={experiment} onChange={setExperiment} />
        <Button type="submit">Filter</Button>
      </form>
      <AsyncView state={list} isEmpty={() => jobs.length === 0} empty="No training job yet.">
        {() => (
          <>
            <Table caption="Training jobs">
              <thead>
                <tr>
                  <th scope="col">
                    <span className="sr-only">Compare</span>
                  </th>
                  <th scope="col">Job</th>
                  <th scope="col">Experiment</th>
                  <th scope="col">Status</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Best</th>
                  <th scope="col">Model</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((j) => (
                  <tr key={j.id} data-testid={`job-${j.name}`}>
                    <td>
                      <CheckField
                        label={`Compare ${j.name}`}
                        checked={chosen.includes(j.id)}
                        onChange={(on) => setChosen((c) => (on ? [...c, j.id] : c.filter((x) => x !== j.id)))}
                      />
                    </td>
                    <th scope="row">
                      <Link to={`/training/${seg(j.id)}`}>{j.name}</Link>
                    </th>
                    <td>{j.experiment}</td>
                    <td>
                      <Badge tone={statusTone(j.status)}>{j.status}</Badge>
                    </td>
                    <td>
                      <Progress value={j.epoch} max={j.epochs} label={`Progress of ${j.name}`} />
                    </td>
                    <td className="small">{j.best ? `${j.best.metric} ${formatNumber(j.best.value)} (epoch ${j.best.epoch})` : '—'}</td>
                    <td>{j.model ? <Link to={`/models/${seg(j.model.name)}`}>{`${j.model.name} v${j.model.version}`}</Link> : '—'}</td>
                    <td>{formatDate(j.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </Table>
            {chosen.length >= 2 && <CompareRuns jobs={jobs.filter((j) => chosen.includes(j.id))} />}
            {chosen.length === 1 && <p className="muted">Tick another job to compare their runs.</p>}
          </>
        )}
      </AsyncView>
    </Page>
  );
}

type Architecture = 'mlp' | 'gbtree' | 'kmeans' | 'autoencoder' | 'char_rnn' | 'char_transformer';
type ModelType = 'classification' | 'regression' | 'clustering' | 'embedding' | 'generation';
type Spec = Schemas['TrainingJobSpec'];
type OptimizerType = NonNullable<NonNullable<Spec['optimizer']>['type']>;
type SchedulerType = NonNullable<NonNullable<Spec['scheduler']>['type']>;
type Activation = 'relu' | 'tanh' | 'gelu';
type KMeansInit = 'k-means++' | 'random';

/** What each architecture trains (as the server's spec check has it): its framework, model types (the first is
 * the default) and whether it reads a target column. */
const ARCHITECTURES: Record<Architecture, { label: string; framework: string; types: ModelType[]; target: boolean }> = {
  mlp: { label: 'neural network (MLP, PyTorch)', framework: 'torch', types: ['classification', 'regression'], target: true },
  gbtree: { label: 'gradient-boosted trees (XGBoost)', framework: 'xgboost', types: ['classification', 'regression'], target: true },
  kmeans: { label: 'k-means clustering', framework: 'kmeans', types: ['clustering'], target: false },
  autoencoder: { label: 'autoencoder embeddings (PyTorch)', framework: 'torch', types: ['embedding'], target: false },
  char_rnn: { label: 'character RNN text generator (GRU, PyTorch)', framework: 'torch', types: ['generation'], target: true },
  char_transformer: { label: 'character Transformer text generator (PyTorch)', framework: 'torch', types: ['generation'], target: true },
};

/** The validation metrics of each model type, the default first. */
const METRICS: Record<ModelType, string[]> = {
  classification: ['accuracy', 'f1_macro', 'log_loss'],
  regression: ['r2', 'rmse', 'mae'],
  clustering: ['silhouette', 'inertia'],
  embedding: ['val_loss'],
  generation: ['val_loss', 'perplexity'],
};

/** The request fields this form shows, most specific first (a server error naming one is shown next to it). */
const FORM_FIELDS = [
  'name', 'experiment', 'dataset', 'target', 'exclude', 'model.architecture', 'model.model_type',
  'model.params.hidden', 'model.params.activation', 'model.params.dropout', 'model.params.num_rounds', 'model.params.max_depth',
  'model.params.eta', 'model.params.k', 'model.params.init', 'model.params.max_iter', 'model.params.n_init',
  'model.params.embedding_dim', 'model.params.layers', 'model.params.heads', 'model.params.seq_len',
  'optimizer.type', 'optimizer', 'scheduler', 'epochs', 'batch_size', 'validation.split', 'validation.metric',
  'early_stopping.patience', 'augmentation.gaussian_noise', 'augmentation.mixup_alpha', 'register.model_name',
];

function numbers(list: string): number[] {
  return list.split(',').map((x) => Number(x.trim())).filter((x) => x > 0);
}

function SubmitJob({ initialDataset }: { initialDataset: string }) {
  const datasets = useAsync((signal) => api.get('/api/v1/datasets', { signal, query: { limit: 200 } }), []);
  const items = datasets.data?.items ?? [];
  const latest = useMemo(() => {
    const byName = new Map<string, (typeof items)[number]>();
    for (const d of items) if (!byName.has(d.name ?? '') || (d.version ?? 0) > (byName.get(d.name ?? '')?.version ?? 0)) byName.set(d.name ?? '', d);
    return [...byName.values()];
  }, [items]);
  const [dataset, setDataset] = useState(initialDataset);
  const chosen = latest.find((d) => d.name === dataset || d.id === dataset) ?? latest[0];
  const columnInfo = chosen?.columns ?? [];
  const columns = columnInfo.map((c) => c.name ?? '');
  const [arch, setArch] = useState<Architecture>('mlp');
  const a = ARCHITECTURES[arch];
  const torch = a.framework === 'torch';
  const [target, setTarget] = useState('');
  // Default target: the last column; for text generation the last text column.
  const textColumns = columnInfo.filter((c) => /^(string|text|str|utf8|categorical)$/i.test(c.type ?? '')).map((c) => c.name ?? '');
  const defaultTarget = (a.types[0] === 'generation' ? textColumns[textColumns.length - 1] : undefined) ?? columns[columns.length - 1] ?? '';
  const tgt = a.target ? (columns.includes(target) ? target : defaultTarget) : '';
  const [excluded, setExcluded] = useState<string[]>([]);
  const exclude = excluded.filter((c) => columns.includes(c) && c !== tgt);
  const [name, setName] = useState('');
  const [experiment, setExperiment] = useState('default');
  const [task, setTask] = useState<ModelType>('classification');
  const modelType = a.types.includes(task) ? task : a.types[0];
  const [metric, setMetric] = useState('');
  const metricValue = METRICS[modelType].includes(metric) ? metric : METRICS[modelType][0];
  const [hidden, setHidden] = useState('64, 32');
  const [aeHidden, setAeHidden] = useState('32, 16');
  const [activation, setActivation] = useState<Activation>('relu');
  const [dropout, setDropout] = useState('0.1');
  const [rounds, setRounds] = useState('50');
  const [depth, setDepth] = useState('4');
  const [eta, setEta] = useState('0.3');
  const [k, setK] = useState('3');
  const [init, setInit] = useState<KMeansInit>('k-means++');
  const [maxIter, setMaxIter] = useState('300');
  const [nInit, setNInit] = useState('10');
  const [embeddingDim, setEmbeddingDim] = useState('2');
  const [charHidden, setCharHidden] = useState('128');
  const [layers, setLayers] = useState('2');
  const [seqLen, setSeqLen] = useState('64');
  const [charEmbedding, setCharEmbedding] = useState('64');
  const [heads, setHeads] = useState('4');
  const [charDropout, setCharDropout] = useState('0');
  const [optimizer, setOptimizer] = useState<OptimizerType>('adam');
  const [lr, setLr] = useState('0.01');
  const [scheduler, setScheduler] = useState<SchedulerType | 'none'>('none');
  const [epochs, setEpochs] = useState('30');
  const [batch, setBatch] = useState('32');
  const [noise, setNoise] = useState('0');
  const [mixup, setMixup] = useState('0');
  const [split, setSplit] = useState('0.2');
  const [early, setEarly] = useState(true);
  const [patience, setPatience] = useState('5');
  const [register, setRegister] = useState(true);
  const [modelName, setModelName] = useState('');
  const action = useAction();
  const fe = action.fieldError;

  function params(): Record<string, unknown> {
    switch (arch) {
      case 'mlp':
        return { hidden: numbers(hidden), activation, dropout: Number(dropout) };
      case 'gbtree':
        return { num_rounds: Number(rounds), max_depth: Number(depth), eta: Number(eta) };
      case 'kmeans':
        return { k: Number(k), init, max_iter: Number(maxIter), n_init: Number(nInit) };
      case 'autoencoder':
        return { hidden: numbers(aeHidden), embedding_dim: Number(embeddingDim), activation };
      case 'char_rnn':
        return { hidden: Number(charHidden), layers: Number(layers), seq_len: Number(seqLen), embedding_dim: Number(charEmbedding), dropout: Number(charDropout) };
      case 'char_transformer':
        return { hidden: Number(charHidden), layers: Number(layers), heads: Number(heads), seq_len: Number(seqLen), dropout: Number(charDropout) };
    }
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!chosen) return;
    const jobName = name.trim() || `${chosen.name}-${arch}`;
    const augment = arch === 'mlp' && (Number(noise) > 0 || Number(mixup) > 0);
    // The generated request type predates the unsupervised and text architectures (and an optional target).
    const body = {
      name: jobName,
      experiment: experiment.trim() || 'default',
      dataset: chosen.id ?? '',
      ...(a.target ? { target: tgt } : {}),
      ...(exclude.length > 0 ? { exclude } : {}),
      model: { model_type: modelType, framework: a.framework, architecture: arch, params: params() },
      ...(torch
        ? {
            optimizer: { type: optimizer, lr: Number(lr) },
            ...(scheduler !== 'none' ? { scheduler: { type: scheduler } } : {}),
            epochs: Number(epochs),
            batch_size: Number(batch),
          }
        : {}),
      ...(augment ? { augmentation: { gaussian_noise: Number(noise), mixup_alpha: Number(mixup) } } : {}),
      validation: { split: Number(split), metric: metricValue },
      ...(early && torch ? { early_stopping: { metric: 'val_loss', patience: Number(patience), min_delta: 0 } } : {}),
      ...(register ? { register: { model_name: modelName.trim() || `${chosen.name}-model` } } : {}),
    } as unknown as Spec;
    const job = await action.run(() => api.post('/api/v1/training/jobs', { body }), undefined, FORM_FIELDS);
    if (job) navigate(`/training/${seg(job.id ?? '')}`);
  }

  const featureColumns = columns.filter((c) => c !== tgt);
  return (
    <Card title="New training job">
      <AsyncView state={datasets} isEmpty={() => latest.length === 0} empty="Upload a dataset first (Datasets).">
        {() => (
          <form onSubmit={submit} className="form-grid">
            <SelectField
              label="Dataset"
              value={chosen?.name ?? ''}
              onChange={setDataset}
              error={fe('dataset')}
              options={latest.map((d) => ({ value: d.name ?? '', label: `${d.name} (v${d.version}, ${d.rows} rows)` }))}
            />
            <SelectField<Architecture>
              label="Model"
              value={arch}
              onChange={setArch}
              error={fe('model.architecture')}
              options={(Object.keys(ARCHITECTURES) as Architecture[]).map((v) => ({ value: v, label: ARCHITECTURES[v].label }))}
            />
            {a.types.length > 1 ? (
              <SelectField<ModelType> label="Task" value={modelType} onChange={setTask} options={a.types} error={fe('model.model_type')} />
            ) : (
              <p className="muted" data-testid="model-type">
                {`Task: ${modelType} (framework ${a.framework})`}
              </p>
            )}
            {a.target ? (
              <SelectField
                label={modelType === 'generation' ? 'Text column' : 'Target column'}
                value={tgt}
                onChange={setTarget}
                options={columns}
                error={fe('target')}
                hint={modelType === 'generation' ? 'its rows, joined by line breaks, are the text to learn' : undefined}
              />
            ) : (
              <p className="muted">{`${arch === 'kmeans' ? 'k-means' : 'An autoencoder'} learns without a target column.`}</p>
            )}
            <TextField label="Job name" value={name} onChange={setName} placeholder={chosen ? `${chosen.name}-${arch}` : ''} error={fe('name')} />
            <TextField label="Experiment" value={experiment} onChange={setExperiment} error={fe('experiment')} />
            {modelType !== 'generation' && featureColumns.length > 0 && (
              <fieldset className="fieldset" aria-describedby={fe('exclude') ? 'exclude-error' : undefined}>
                <legend>Columns left out of the features</legend>
                {featureColumns.map((c) => (
                  <CheckField
                    key={c}
                    label={`Leave out ${c}`}
                    checked={exclude.includes(c)}
                    onChange={(on) => setExcluded((x) => (on ? [...x.filter((y) => y !== c), c] : x.filter((y) => y !== c)))}
                  />
                ))}
                {fe('exclude') && (
                  <small id="exclude-error" className="field-error">
                    {fe('exclude')}
                  </small>
                )}
              </fieldset>
            )}
            {arch === 'mlp' && (
              <fieldset className="fieldset">
                <legend>Network</legend>
                <TextField label="Hidden layers" value={hidden} onChange={setHidden} hint="sizes, comma separated" error={fe('model.params.hidden')} />
                <SelectField<Activation> label="Activation" value={activation} onChange={setActivation} options={['relu', 'tanh', 'gelu']} error={fe('model.params.activation')} />
                <TextField label="Dropout" type="number" step="any" min={0} max={0.9} value={dropout} onChange={setDropout} error={fe('model.params.dropout')} />
              </fieldset>
            )}
            {arch === 'gbtree' && (
              <fieldset className="fieldset">
                <legend>Boosting</legend>
                <TextField label="Rounds" type="number" min={1} value={rounds} onChange={setRounds} error={fe('model.params.num_rounds')} />
                <TextField label="Max depth" type="number" min={1} value={depth} onChange={setDepth} error={fe('model.params.max_depth')} />
                <TextField label="Learning rate (eta)" type="number" step="any" value={eta} onChange={setEta} error={fe('model.params.eta')} />
              </fieldset>
            )}
            {arch === 'kmeans' && (
              <fieldset className="fieldset">
                <legend>Clustering</legend>
                <TextField label="Clusters (k)" type="number" min={1} value={k} onChange={setK} error={fe('model.params.k')} />
                <SelectField<KMeansInit> label="Initialisation" value={init} onChange={setInit} options={['k-means++', 'random']} error={fe('model.params.init')} />
                <TextField label="Max iterations" type="number" min={1} value={maxIter} onChange={setMaxIter} error={fe('model.params.max_iter')} />
                <TextField label="Runs (n_init)" type="number" min={1} value={nInit} onChange={setNInit} hint="the run with the lowest inertia wins" error={fe('model.params.n_init')} />
              </fieldset>
            )}
            {arch === 'autoencoder' && (
              <fieldset className="fieldset">
                <legend>Encoder</legend>
                <TextField label="Hidden layers" value={aeHidden} onChange={setAeHidden} hint="sizes, comma separated; the decoder mirrors them" error={fe('model.params.hidden')} />
                <TextField label="Embedding size" type="number" min={1} value={embeddingDim} onChange={setEmbeddingDim} error={fe('model.params.embedding_dim')} />
                <SelectField<Activation> label="Activation" value={activation} onChange={setActivation} options={['relu', 'tanh', 'gelu']} error={fe('model.params.activation')} />
              </fieldset>
            )}
            {(arch === 'char_rnn' || arch === 'char_transformer') && (
              <fieldset className="fieldset">
                <legend>{arch === 'char_rnn' ? 'Recurrent network' : 'Transformer'}</legend>
                <TextField
                  label="Hidden size"
                  type="number"
                  min={1}
                  value={charHidden}
                  onChange={setCharHidden}
                  hint={arch === 'char_transformer' ? 'a multiple of the heads' : undefined}
                  error={fe('model.params.hidden')}
                />
                <TextField label="Layers" type="number" min={1} value={layers} onChange={setLayers} error={fe('model.params.layers')} />
                {arch === 'char_rnn' ? (
                  <TextField label="Embedding size" type="number" min={1} value={charEmbedding} onChange={setCharEmbedding} error={fe('model.params.embedding_dim')} />
                ) : (
                  <TextField label="Attention heads" type="number" min={1} value={heads} onChange={setHeads} error={fe('model.params.heads')} />
                )}
                <TextField label="Sequence length" type="number" min={1} value={seqLen} onChange={setSeqLen} hint="characters per training window" error={fe('model.params.seq_len')} />
                <TextField label="Dropout" type="number" step="any" min={0} max={0.9} value={charDropout} onChange={setCharDropout} error={fe('model.params.dropout')} />
              </fieldset>
            )}
            {torch && (
              <fieldset className="fieldset">
                <legend>Optimizer</legend>
                <SelectField<OptimizerType>
                  label="Optimizer"
                  value={optimizer}
                  onChange={setOptimizer}
                  options={['adam', 'adamw', 'sgd', 'rmsprop', 'adagrad', 'adadelta']}
                  error={fe('optimizer.type')}
                />
                <TextField label="Learning rate" type="number" step="any" value={lr} onChange={setLr} error={fe('optimizer')} />
                <SelectField<SchedulerType | 'none'>
                  label="Schedule"
                  value={scheduler}
                  onChange={setScheduler}
                  options={['none', 'cosine_annealing', 'step', 'exponential', 'reduce_on_plateau', 'one_cycle']}
                  error={fe('scheduler')}
                />
                <TextField label="Epochs" type="number" min={1} value={epochs} onChange={setEpochs} error={fe('epochs')} />
                <TextField label="Batch size" type="number" min={1} value={batch} onChange={setBatch} error={fe('batch_size')} />
                <CheckField label="Stop early when the validation loss stalls" checked={early} onChange={setEarly} />
                {early && <TextField label="Patience (epochs)" type="number" min={1} value={patience} onChange={setPatience} error={fe('early_stopping.patience')} />}
              </fieldset>
            )}
            {arch === 'mlp' && (
              <fieldset className="fieldset">
                <legend>Augmentation</legend>
                <TextField label="Gaussian noise" type="number" step="any" min={0} value={noise} onChange={setNoise} hint="standard deviation; 0 is none" error={fe('augmentation.gaussian_noise')} />
                <TextField label="Mixup alpha" type="number" step="any" min={0} value={mixup} onChange={setMixup} hint="0 is none" error={fe('augmentation.mixup_alpha')} />
              </fieldset>
            )}
            <TextField label="Validation split" type="number" step="any" min={0.01} max={0.9} value={split} onChange={setSplit} error={fe('validation.split')} />
            <SelectField label="Validation metric" value={metricValue} onChange={setMetric} options={METRICS[modelType]} error={fe('validation.metric')} />
            <CheckField label="Register the best model" checked={register} onChange={setRegister} />
            {register && (
              <TextField
                label="Model name"
                value={modelName}
                onChange={setModelName}
                placeholder={chosen ? `${chosen.name}-model` : ''}
                error={fe('register.model_name')}
              />
            )}
            <div className="form-actions">
              <Button type="submit" kind="primary" pending={action.pending} disabled={a.target && !tgt}>
                Start training
              </Button>
            </div>
            <ErrorBox error={action.error} />
          </form>
        )}
      </AsyncView>
    </Card>
  );
}

export function JobDetailPage({ id }: { id: string }) {
  const auth = useAuth();
  const job = useAsync((signal) => api.get('/api/v1/training/jobs/{id}', { signal, path: { id } }), [id]);
  const metrics = useAsync((signal) => api.get('/api/v1/training/jobs/{id}/metrics', { signal, path: { id } }), [id]);
  const logs = useJobLogs(id);
  const checkpoints = useAsync((signal) => api.get('/api/v1/training/jobs/{id}/checkpoints', { signal, path: { id } }), [id]);
  const [live, setLive] = useState<MetricPoint[]>([]);
  const action = useAction();
  const j = job.data as unknown as Job | undefined;
  const [showRegister, setShowRegister] = useState(false);
  const [registerName, setRegisterName] = useState('');
  const specRegister = (j?.spec as { register?: { model_name?: string } } | undefined)?.register?.model_name;
  const defaultModelName = j?.model?.name ?? specRegister ?? (j ? `${j.name}-model` : '');

  useRealtime([`training.${id}`], (e) => {
    if (e.type === 'training.job.progress' && e.data) {
      const p = e.data as unknown as MetricPoint;
      setLive((l) => [...l.filter((x) => x.epoch !== p.epoch), p]);
    }
    if (e.type === 'training.job.checkpoint') checkpoints.reload();
    job.reload();
    logs.reload();
  });
  useInterval(() => {
    if (j && ACTIVE.has(j.status)) {
      job.reload();
      logs.reload();
    }
  }, 3000);

  const points = useMemo(() => {
    const byEpoch = new Map<number, MetricPoint>();
    for (const p of ((metrics.data?.items ?? []) as unknown) as MetricPoint[]) byEpoch.set(p.epoch, p);
    for (const p of live) byEpoch.set(p.epoch, p);
    return [...byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }, [metrics.data, live]);
  const metricNames = [...new Set(points.flatMap((p) => Object.keys(p.metrics ?? {})))];
  const xs = points.map((p) => p.epoch);
  const loss: Series[] = [
    { label: 'train loss', values: points.map((p) => p.train_loss) },
    { label: 'validation loss', values: points.map((p) => p.val_loss) },
  ];
  const other: Series[] = metricNames.map((m) => ({ label: m, values: points.map((p) => p.metrics?.[m] ?? null) }));

  async function cancel() {
    const r = await action.run(() => api.post('/api/v1/training/jobs/{id}/cancel', { path: { id } }), 'Cancelling…');
    if (r) job.reload();
  }
  async function registerModel(e: FormEvent) {
    e.preventDefault();
    const model_name = registerName.trim() || defaultModelName;
    const r = await action.run(
      () => api.post('/api/v1/training/jobs/{id}/register', { path: { id }, body: { model_name } }),
      (updated) => {
        const m = (updated as unknown as Job).model;
        return m ? `Registered as ${m.name} v${m.version}.` : `Registered as ${model_name}.`;
      },
    );
    if (r) {
      job.setData(r);
      setShowRegister(false);
    }
  }
  async function resume() {
    const r = await action.run(() => api.post('/api/v1/training/jobs/{id}/resume', { path: { id } }), 'Queued again; it continues from its last checkpoint.');
    if (r) job.reload();
  }

  return (
    <Page
      title={j ? `Training ${j.name}` : 'Training job'}
      actions={
        j && (
          <>
            {j.status === 'succeeded' && auth.can('models:write') && (
              <Button onClick={() => setShowRegister((v) => !v)}>{showRegister ? 'Close' : 'Register model'}</Button>
            )}
            {auth.can('training:run') && (
              <Link className="btn" to={withQuery('/sweeps', { base_job: j.id })}>
                Sweep from this job
              </Link>
            )}
            {auth.can('training:run') && ACTIVE.has(j.status) && (
              <Button kind="danger" onClick={() => void cancel()} pending={action.pending}>
                Cancel
              </Button>
            )}
            {auth.can('training:run') && (j.status === 'cancelled' || j.status === 'failed') && (
              <Button kind="primary" onClick={() => void resume()} pending={action.pending}>
                Resume
              </Button>
            )}
          </>
        )
      }
    >
      <p>
        <Link to="/training">← All jobs</Link>
        {j && (
          <>
            {' · '}
            <Link to={withQuery('/training', { experiment: j.experiment })}>{`jobs of ${j.experiment}`}</Link>
            {' · '}
            <Link to={`/experiments/${seg(j.experiment)}`}>{`experiment ${j.experiment}`}</Link>
          </>
        )}
      </p>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      {showRegister && j && j.status === 'succeeded' && (
        <Card title="Register the model">
          <p className="muted">
            Registers this job's best checkpoint as a new version of a model (a new model when the name is new).
          </p>
          <form className="row row-end" onSubmit={registerModel}>
            <TextField label="Model name" value={registerName} onChange={setRegisterName} placeholder={defaultModelName} />
            <Button type="submit" kind="primary" pending={action.pending}>
              Register
            </Button>
          </form>
        </Card>
      )}
      <AsyncView state={job}>
        {() =>
          j && (
            <Card>
              <dl className="kv kv-wide">
                <dt>Status</dt>
                <dd data-testid="job-status">
                  <Badge tone={statusTone(j.status)}>{j.status}</Badge>
                  {j.error ? <span className="error-message"> {j.error}</span> : null}
                </dd>
                <dt>Progress</dt>
                <dd>
                  <Progress value={j.epoch} max={j.epochs} label="Training progress" /> epoch {j.epoch} of {j.epochs}
                </dd>
                <dt>Best</dt>
                <dd>{j.best ? `${j.best.metric} ${formatNumber(j.best.value)} at epoch ${j.best.epoch}` : '—'}</dd>
                <dt>Model</dt>
                <dd data-testid="job-model">
                  {j.model ? <Link to={`/models/${seg(j.model.name)}`}>{`${j.model.name} v${j.model.version}`}</Link> : '—'}
                </dd>
                <dt>Started</dt>
                <dd>{formatDate(j.started_at)}</dd>
                <dt>Finished</dt>
                <dd>{formatDate(j.finished_at)}</dd>
              </dl>
            </Card>
          )
        }
      </AsyncView>
      <Card title="Metrics per epoch (live)">
        {points.length === 0 ? (
          <p className="muted" data-testid="chart-waiting">
            The charts start with the first epoch.
          </p>
        ) : (
          <div className="grid grid-2" data-testid="training-charts" data-epochs={points.length}>
            <LineChart title="Loss" x={xs} series={loss} time={false} yLabel="loss" />
            {other.length > 0 && <LineChart title="Validation metrics" x={xs} series={other} time={false} />}
          </div>
        )}
      </Card>
      <div className="grid grid-2">
        <Card title="Logs (newest first)">
          <ErrorBox error={logs.error} />
          {logs.lines.length === 0 ? (
            <p className="muted">No log line yet.</p>
          ) : (
            <pre className="json logs" tabIndex={0} aria-label="Job logs, newest first">
              {logs.lines
                .slice()
                .reverse()
                .map((l) => `${l.ts} ${l.level} ${l.message}`)
                .join('\n')}
            </pre>
          )}
        </Card>
        <Card title="Checkpoints">
          <AsyncView state={checkpoints} isEmpty={(d) => (d.items ?? []).length === 0} empty="No checkpoint yet.">
            {(d) => (
              <Table caption="Checkpoints">
                <thead>
                  <tr>
                    <th scope="col">Epoch</th>
                    <th scope="col">Size</th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {((d.items ?? []) as unknown as { epoch: number; size: number; created_at: string }[]).map((c) => (
                    <tr key={c.epoch}>
                      <td>{c.epoch}</td>
                      <td>{c.size}</td>
                      <td>{formatDate(c.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </AsyncView>
        </Card>
      </div>
    </Page>
  );
}

interface LogLine {
  seq: number;
  ts: string;
  level: string;
  message: string;
}

/** A job's log lines, fetched incrementally (after the last sequence number seen); keeps the last 500. */
function useJobLogs(id: string) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<unknown>(null);
  const last = useRef(0);
  const busy = useRef(false);
  const reload = useCallback(() => {
    if (busy.current) return;
    busy.current = true;
    api
      .get('/api/v1/training/jobs/{id}/logs', { path: { id }, query: { after: last.current, limit: 1000 } })
      .then((d) => {
        const items = (d.items ?? []) as LogLine[];
        if (items.length > 0) {
          last.current = items[items.length - 1].seq;
          setLines((l) => [...l, ...items].slice(-500));
        }
        setError(null);
      })
      .catch(setError)
      .finally(() => {
        busy.current = false;
      });
  }, [id]);
  useEffect(() => {
    last.current = 0;
    setLines([]);
    reload();
  }, [reload]);
  return { lines, error, reload };
}

/** The validation loss of several runs per epoch, fetched from each job's metrics. */
function CompareRuns({ jobs }: { jobs: Job[] }) {
  const key = jobs.map((j) => j.id).join(',');
  const data = useAsync(
    (signal) => Promise.all(jobs.map((j) => api.get('/api/v1/training/jobs/{id}/metrics', { signal, path: { id: j.id } }))),
    [key],
  );
  return (
    <Card title="Compare runs">
      <AsyncView state={data}>
        {(all) => {
          const runs = all.map((d) => ((d.items ?? []) as unknown) as MetricPoint[]);
          const maxEpoch = Math.max(0, ...runs.flatMap((r) => r.map((p) => p.epoch)));
          const xs = Array.from({ length: maxEpoch }, (_, i) => i + 1);
          const series: Series[] = jobs.map((j, i) => ({
            label: j.name,
            values: xs.map((e) => runs[i].find((p) => p.epoch === e)?.val_loss ?? null),
          }));
          return (
            <>
              <LineChart title="Validation loss per epoch" x={xs} series={series} time={false} />
              <Table caption="Best results">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Best</th>
                    <th scope="col">Parameters</th>
                  </tr>
                </thead>
                <tbody>
                  {jobs.map((j) => (
                    <tr key={j.id}>
                      <th scope="row">{j.name}</th>
                      <td>{j.best ? `${j.best.metric} ${formatNumber(j.best.value)}` : '—'}</td>
                      <td className="mono small">{JSON.stringify((j.spec as { model?: unknown }).model ?? {})}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </>
          );
        }}
      </AsyncView>
    </Card>
  );
}
