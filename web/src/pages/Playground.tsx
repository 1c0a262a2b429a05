// Inference playground: pick a model and version, fill a form built from the version's signature (or write
// the JSON body), predict, and see the result and its latency. Clustering models show the cluster and the distance
// to each centroid; tensor and bundle models can be called through the Open Inference Protocol (V2) instead;
// embedding models embed rows and search the nearest rows of a dataset; generation models continue a prompt.
import { useEffect, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import type { Signature } from '../api/types';
import { useLocation } from '../app/router';
import {
  AsyncView, Button, Card, CheckField, ErrorBox, Field, Json, Loading, Page, SelectField, Table, TextField, describeError, formatNumber,
  useAction, useAsync,
} from '../components/ui';

type PredictResponse = Schemas['PredictResponse'];
type V2Response = Schemas['V2InferResponse'];
type V2Datatype = Schemas['V2Tensor']['datatype'];

/**
 * The form's columns: one input shaped [-1, k] gives k numbered values (sent as `inputs` rows); several inputs of
 * one value each (models trained here: one per feature) give one field per feature (sent as `instances` by name).
 * null: JSON only.
 */
interface FormShape {
  kind: 'tensor' | 'features';
  labels: string[];
  numeric: boolean[];
  inputName: string;
}

const NUMERIC = new Set(['BOOL', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'FP16', 'FP32', 'FP64']);

function formShape(sig: Signature | undefined | null): FormShape | null {
  const ins = sig?.inputs ?? [];
  if (ins.length === 1) {
    const shape = ins[0].shape ?? [];
    const k = shape.length === 2 ? shape[1] : shape.length === 1 ? shape[0] : 0;
    if (k > 0 && k <= 64) {
      return {
        kind: 'tensor',
        labels: Array.from({ length: k }, (_, i) => `value ${i + 1}`),
        numeric: new Array<boolean>(k).fill(true),
        inputName: ins[0].name,
      };
    }
  }
  if (ins.length > 1 && ins.length <= 64 && ins.every((i) => (i.shape ?? []).length === 1)) {
    return { kind: 'features', labels: ins.map((i) => i.name), numeric: ins.map((i) => NUMERIC.has(i.datatype)), inputName: '' };
  }
  return null;
}

export function PlaygroundPage() {
  const loc = useLocation();
  const fromUrl = loc.query.get('model') ?? '';
  const models = useAsync((signal) => api.get('/api/v1/models', { signal, query: { limit: 1000 } }), [fromUrl]);
  const [model, setModel] = useState(fromUrl);
  // A link to another model's playground while this page is open.
  useEffect(() => {
    if (fromUrl) setModel(fromUrl);
  }, [fromUrl]);
  const names = (models.data?.items ?? []).map((m) => m.name ?? '');
  const chosen = model || names[0] || '';

  return (
    <Page title="Inference playground">
      <AsyncView state={models} isEmpty={(d) => (d.items ?? []).length === 0} empty="No model is registered yet.">
        {() => (
          <>
            <div className="row row-end">
              <SelectField label="Model" value={chosen} onChange={setModel} options={names.includes(chosen) ? names : [chosen, ...names]} />
            </div>
            {chosen && <ModelPlayground key={chosen} name={chosen} />}
          </>
        )}
      </AsyncView>
    </Page>
  );
}

function ModelPlayground({ name }: { name: string }) {
  const info = useAsync((signal) => api.get('/api/v1/models/{name}', { signal, path: { name } }), [name]);
  const modelType = info.data?.model_type ?? '';
  const versions = useAsync(
    (signal) => api.get('/api/v1/models/{name}/versions', { signal, path: { name }, query: { limit: 200 } }),
    [name],
  );
  const [version, setVersion] = useState('production');
  const options = [
    { value: 'production', label: 'production (served)' },
    { value: 'staging', label: 'staging' },
    { value: 'latest', label: 'latest' },
    ...(versions.data?.items ?? []).map((v) => ({ value: String(v.version), label: `v${v.version} (${v.stage})` })),
  ];
  const meta = useAsync(
    (signal) => api.get('/api/v1/models/{name}/versions/{version}', { signal, path: { name, version } }),
    [name, version],
  );

  return (
    <>
      <div className="row row-end">
        <SelectField label="Version" value={version} onChange={setVersion} options={options} />
        {modelType && <p className="muted small">Model type: {modelType}</p>}
      </div>
      {meta.error || info.error ? (
        <ErrorBox error={meta.error || info.error} onRetry={meta.error ? meta.reload : info.reload} />
      ) : meta.data === undefined || info.data === undefined ? (
        <Loading />
      ) : modelType === 'generation' ? (
        <GenerateForm key={`${name}:${version}:${meta.data.version}`} name={name} version={version} />
      ) : modelType === 'embedding' ? (
        <EmbeddingForms key={`${name}:${version}:${meta.data.version}`} name={name} version={version} signature={meta.data.signature} />
      ) : (
        <PredictForm key={`${name}:${version}:${meta.data.version}`} name={name} version={version} signature={meta.data.signature} />
      )}
    </>
  );
}

/** The version picked in the playground as the body fields of embed, search and generate (default production). */
function selector(version: string): { version?: number | string; stage?: 'staging' } {
  if (version === 'production') return {};
  if (version === 'staging') return { stage: 'staging' };
  return { version: /^\d+$/.test(version) ? Number(version) : version };
}

/** Rows of the signature form: `instances` by feature name or `inputs` rows. */
function nativeBody(shape: FormShape, rows: string[][]): Record<string, unknown> {
  if (shape.kind === 'features') {
    return { instances: rows.map((r) => Object.fromEntries(shape.labels.map((l, i) => [l, shape.numeric[i] ? Number(r[i]) : r[i]]))) };
  }
  return { inputs: rows.map((r) => r.map((v) => Number(v))) };
}

/** The same rows as an Open Inference Protocol request: one tensor [rows, k], or one column tensor per feature. */
function v2Body(shape: FormShape, rows: string[][], signature: Signature | undefined): Schemas['V2InferRequest'] {
  const ins = signature?.inputs ?? [];
  if (shape.kind === 'tensor') {
    return {
      inputs: [
        {
          name: shape.inputName,
          shape: [rows.length, shape.labels.length],
          datatype: (ins[0]?.datatype ?? 'FP32') as V2Datatype,
          data: rows.flat().map((v) => Number(v)),
        },
      ],
    };
  }
  return {
    inputs: shape.labels.map((l, i) => ({
      name: l,
      shape: [rows.length],
      datatype: (ins[i]?.datatype ?? (shape.numeric[i] ? 'FP64' : 'BYTES')) as V2Datatype,
      data: rows.map((r) => (shape.numeric[i] ? Number(r[i]) : r[i])),
    })),
  };
}

function initialRows(shape: FormShape | null): string[][] {
  return shape ? [new Array<string>(shape.labels.length).fill(shape.numeric.every(Boolean) ? '0' : '')] : [];
}

function missingNumber(shape: FormShape | null, rows: string[][]): boolean {
  return rows.some((r) => r.some((v, i) => shape?.numeric[i] && (v.trim() === '' || Number.isNaN(Number(v)))));
}

/** Rows of inputs, one labelled field per column ("Row 1 sepal_length"); rows can be added and removed. */
function RowsEditor({
  shape,
  rows,
  setRows,
  inputName,
}: {
  shape: FormShape;
  rows: string[][];
  setRows: (f: (rows: string[][]) => string[][]) => void;
  inputName?: string;
}) {
  return (
    <>
      {rows.map((row, ri) => (
        <fieldset key={ri} className="fieldset row-inputs">
          <legend>
            Row {ri + 1}
            {shape.kind === 'tensor' ? ` (${inputName ?? 'input'})` : ''}
          </legend>
          {row.map((v, ci) => (
            <TextField
              key={ci}
              label={`Row ${ri + 1} ${shape.labels[ci] ?? `value ${ci + 1}`}`}
              type={shape.numeric[ci] ? 'number' : 'text'}
              step="any"
              value={v}
              onChange={(nv) => setRows((rs) => rs.map((r, i) => (i === ri ? r.map((c, j) => (j === ci ? nv : c)) : r)))}
            />
          ))}
          {rows.length > 1 && (
            <Button small onClick={() => setRows((rs) => rs.filter((_, i) => i !== ri))} label={`Remove row ${ri + 1}`}>
              Remove
            </Button>
          )}
        </fieldset>
      ))}
      <Button small onClick={() => setRows((rs) => [...rs, [...rs[rs.length - 1]]])}>
        Add a row
      </Button>
    </>
  );
}

function SignatureLine({ signature }: { signature?: Signature }) {
  if (!signature) return <p className="muted small">This version has no signature: write the request as JSON.</p>;
  return (
    <p className="muted small">
      Inputs: {(signature.inputs ?? []).map((i) => `${i.name} ${i.datatype} [${(i.shape ?? []).join(', ')}]`).join('; ')}
      {signature.outputs?.length ? ` · Outputs: ${signature.outputs.map((o) => `${o.name} ${o.datatype} [${(o.shape ?? []).join(', ')}]`).join('; ')}` : ''}
    </p>
  );
}

type PredictResult =
  | { protocol: 'native'; r: PredictResponse; roundTrip: number }
  | { protocol: 'v2'; r: V2Response; roundTrip: number };

function PredictForm({ name, version, signature }: { name: string; version: string; signature?: Signature }) {
  const shape = formShape(signature);
  const width = shape ? shape.labels.length : null;
  const [mode, setMode] = useState<'form' | 'json'>(width ? 'form' : 'json');
  const [protocol, setProtocol] = useState<'native' | 'v2'>('native');
  const [rows, setRows] = useState<string[][]>(() => initialRows(shape));
  const defaultJson = (p: 'native' | 'v2', current: string[][]) =>
    JSON.stringify(
      p === 'v2'
        ? shape
          ? v2Body(shape, current.length ? current : initialRows(shape), signature)
          : { inputs: [{ name: signature?.inputs?.[0]?.name ?? 'input', shape: [1, 4], datatype: 'FP32', data: [0, 0, 0, 0] }] }
        : shape?.kind === 'features'
          ? { instances: [Object.fromEntries(shape.labels.map((l, i) => [l, shape.numeric[i] ? 0 : '']))] }
          : { inputs: [new Array<number>(width ?? 4).fill(0)] },
      null,
      2,
    );
  const [json, setJson] = useState(() => defaultJson('native', []));
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<PredictResult | null>(null);

  useEffect(() => {
    setResult(null);
  }, [mode, protocol]);

  function switchProtocol(v2: boolean) {
    const p = v2 ? 'v2' : 'native';
    setProtocol(p);
    setJson(defaultJson(p, rows));
    setError(null);
  }

  async function predict(e: FormEvent) {
    e.preventDefault();
    setError(null);
    let b: Record<string, unknown>;
    try {
      if (mode === 'form' && shape) b = protocol === 'v2' ? (v2Body(shape, rows, signature) as Record<string, unknown>) : nativeBody(shape, rows);
      else b = JSON.parse(json) as Record<string, unknown>;
    } catch (err) {
      setError('The request is not valid JSON: ' + (err instanceof Error ? err.message : String(err)));
      return;
    }
    if (mode === 'form' && missingNumber(shape, rows)) {
      setError('Every field needs a number.');
      return;
    }
    setPending(true);
    const t0 = performance.now();
    try {
      if (protocol === 'v2') {
        const body = b as Schemas['V2InferRequest'];
        const r =
          version === 'production'
            ? await api.post('/v2/models/{name}/infer', { path: { name }, body })
            : await api.post('/v2/models/{name}/versions/{version}/infer', { path: { name, version }, body });
        setResult({ protocol: 'v2', r, roundTrip: performance.now() - t0 });
      } else {
        const r =
          version === 'production'
            ? await api.post('/api/v1/models/{name}/predict', { path: { name }, body: b })
            : await api.post('/api/v1/models/{name}/versions/{version}/predict', { path: { name, version }, body: b });
        setResult({ protocol: 'native', r, roundTrip: performance.now() - t0 });
      }
    } catch (err) {
      setResult(null);
      setError(describeError(err));
    } finally {
      setPending(false);
    }
  }

  return (
    <div className="grid grid-2">
      <Card title="Request">
        <SignatureLine signature={signature} />
        <div className="row" role="group" aria-label="Input mode">
          {width && (
            <Button small kind={mode === 'form' ? 'primary' : 'default'} onClick={() => setMode('form')}>
              Form
            </Button>
          )}
          <Button small kind={mode === 'json' ? 'primary' : 'default'} onClick={() => setMode('json')}>
            JSON
          </Button>
        </div>
        <CheckField label="Send through the Open Inference Protocol (V2)" checked={protocol === 'v2'} onChange={switchProtocol} />
        <form onSubmit={predict}>
          {mode === 'form' && shape ? (
            <RowsEditor shape={shape} rows={rows} setRows={setRows} inputName={signature?.inputs?.[0]?.name} />
          ) : (
            <Field
              label="Request body (JSON)"
              hint={
                protocol === 'v2'
                  ? '{"inputs": [{"name", "shape", "datatype", "data"}, ...]} (POST /v2/models/{name}/infer)'
                  : '{"inputs": [[...], ...]} or {"instances": [{"feature": value}]}'
              }
            >
              {(id, d) => (
                <textarea id={id} rows={10} className="mono" aria-describedby={d} value={json} onChange={(e) => setJson(e.target.value)} />
              )}
            </Field>
          )}
          <div className="form-actions">
            <Button type="submit" kind="primary" pending={pending}>
              Predict
            </Button>
          </div>
        </form>
        <ErrorBox error={error} />
      </Card>
      <Card title="Result">
        {!result ? (
          <p className="muted">{pending ? 'Predicting…' : 'Send a request to see the answer.'}</p>
        ) : result.protocol === 'v2' ? (
          <V2Result r={result.r} roundTrip={result.roundTrip} />
        ) : (
          <div data-testid="prediction">
            <dl className="kv">
              <dt>Model</dt>
              <dd>
                {result.r.model} v{result.r.version}
              </dd>
              <dt>Server latency</dt>
              <dd data-testid="latency">{formatNumber(result.r.latency_ms)} ms</dd>
              <dt>Round trip</dt>
              <dd>{result.roundTrip.toFixed(1)} ms</dd>
              <dt>From cache</dt>
              <dd>{result.r.cached ? 'yes' : 'no'}</dd>
            </dl>
            <Outputs r={result.r} />
            <details>
              <summary>Raw answer</summary>
              <Json value={result.r} label="Raw answer" />
            </details>
          </div>
        )}
      </Card>
    </div>
  );
}

function V2Result({ r, roundTrip }: { r: V2Response; roundTrip: number }) {
  return (
    <div data-testid="v2-response">
      <dl className="kv">
        <dt>Model</dt>
        <dd>
          {r.model_name} version {r.model_version}
        </dd>
        {r.id && (
          <>
            <dt>Request id</dt>
            <dd>{r.id}</dd>
          </>
        )}
        <dt>Round trip</dt>
        <dd>{roundTrip.toFixed(1)} ms</dd>
      </dl>
      <Table caption="Output tensors">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Datatype</th>
            <th scope="col">Shape</th>
            <th scope="col">Data</th>
          </tr>
        </thead>
        <tbody>
          {(r.outputs ?? []).map((o, i) => (
            <tr key={i}>
              <th scope="row">{o.name}</th>
              <td>{o.datatype}</td>
              <td className="mono small">[{(o.shape ?? []).join(', ')}]</td>
              <td className="mono small">{formatOutput(o.data)}</td>
            </tr>
          ))}
        </tbody>
      </Table>
      <h3>Raw V2 response</h3>
      <Json value={r} label="Raw V2 response" />
    </div>
  );
}

function Outputs({ r }: { r: PredictResponse }) {
  const outputs = r.outputs ?? [];
  const distances = r.distances;
  const centroids = distances ? Math.max(0, ...distances.map((d) => d.length)) : 0;
  return (
    <Table caption="Outputs per row">
      <thead>
        <tr>
          <th scope="col">Row</th>
          {r.labels && <th scope="col">Label</th>}
          <th scope="col">{distances ? 'Cluster' : 'Output'}</th>
          {r.probabilities && <th scope="col">Probabilities</th>}
          {Array.from({ length: centroids }, (_, j) => (
            <th scope="col" key={j}>
              Distance to centroid {j}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {outputs.map((o, i) => (
          <tr key={i} data-testid={`output-row-${i + 1}`}>
            <td>{i + 1}</td>
            {r.labels && <td>{r.labels[i]}</td>}
            <td className="mono small">{formatOutput(o)}</td>
            {r.probabilities && (
              <td className="mono small">
                {(r.probabilities[i] ?? []).map((p, j) => `${r.classes?.[j] ?? j}: ${p.toFixed(3)}`).join(', ')}
              </td>
            )}
            {Array.from({ length: centroids }, (_, j) => {
              const d = distances?.[i]?.[j];
              const nearest = typeof o === 'number' && o === j;
              return (
                <td key={j} className="mono small">
                  {d === undefined ? '—' : formatNumber(d, 4)}
                  {nearest ? ' (nearest)' : ''}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function formatOutput(o: unknown): string {
  if (typeof o === 'number') return formatNumber(o, 4);
  if (Array.isArray(o) && o.every((x) => typeof x === 'number')) return '[' + o.map((x) => formatNumber(x as number, 4)).join(', ') + ']';
  if (typeof o === 'string') return o;
  return JSON.stringify(o);
}

// ------------------------------------------------------------------------------------------- embedding models

type EmbedResponse = { embeddings?: number[][]; dim?: number; model?: string; model_version?: number; latency_ms?: number };
type SearchHit = { row?: number; distance?: number; record?: Record<string, unknown> };
type SearchResponse = { model?: string; model_version?: number; dataset?: string; k?: number; rows?: number; dim?: number; results?: SearchHit[][] };

/** Embed rows and search the nearest rows of a dataset: the query rows are shared by both forms. */
function EmbeddingForms({ name, version, signature }: { name: string; version: string; signature?: Signature }) {
  const shape = formShape(signature);
  const [rows, setRows] = useState<string[][]>(() => initialRows(shape));
  const [queryMode, setQueryMode] = useState<'rows' | 'vectors'>(shape ? 'rows' : 'vectors');
  const [vectors, setVectors] = useState('[[0, 0]]');
  const datasets = useAsync((signal) => api.get('/api/v1/datasets', { signal, query: { limit: 200 } }), []);
  const datasetNames = [...new Set((datasets.data?.items ?? []).map((d) => d.name ?? ''))].filter(Boolean);
  const [dataset, setDataset] = useState('');
  const chosenDataset = dataset || datasetNames[0] || '';
  const [k, setK] = useState('5');
  const [includeRows, setIncludeRows] = useState(true);
  const embed = useAction();
  const search = useAction();
  const [embedded, setEmbedded] = useState<EmbedResponse | null>(null);
  const [found, setFound] = useState<SearchResponse | null>(null);

  function queryBody(): Record<string, unknown> | string {
    if (queryMode === 'vectors') {
      try {
        const v = JSON.parse(vectors) as unknown;
        if (!Array.isArray(v)) return 'Vectors must be a JSON list of lists of numbers.';
        return { vectors: v };
      } catch (err) {
        return 'The vectors are not valid JSON: ' + (err instanceof Error ? err.message : String(err));
      }
    }
    if (!shape) return 'This version has no signature: search with vectors.';
    if (missingNumber(shape, rows)) return 'Every field needs a number.';
    return nativeBody(shape, rows);
  }

  async function runEmbed() {
    if (!shape) return;
    if (missingNumber(shape, rows)) {
      embed.setError('Every field needs a number.');
      return;
    }
    const r = await embed.run(
      () => api.post('/api/v1/models/{name}/embed', { path: { name }, body: { ...nativeBody(shape, rows), ...selector(version) } }),
      undefined,
      ['instances', 'inputs'],
    );
    if (r) setEmbedded(r);
  }

  async function runSearch(e: FormEvent) {
    e.preventDefault();
    const q = queryBody();
    if (typeof q === 'string') {
      search.setError(q);
      return;
    }
    const body = { ...q, dataset: chosenDataset, k: Number(k), include_rows: includeRows, ...selector(version) };
    const r = await search.run(() => api.post('/api/v1/models/{name}/search', { path: { name }, body }), undefined, [
      'dataset',
      'k',
      'vectors',
      'instances',
      'inputs',
    ]);
    if (r) setFound(r);
  }

  const rowsError = search.fieldError('instances') ?? search.fieldError('inputs') ?? embed.fieldError('instances') ?? embed.fieldError('inputs');
  return (
    <>
      <div className="grid grid-2">
        <Card title="Query rows">
          <SignatureLine signature={signature} />
          {shape ? (
            <RowsEditor shape={shape} rows={rows} setRows={setRows} inputName={signature?.inputs?.[0]?.name} />
          ) : (
            <p className="muted">This version has no signature: search with vectors.</p>
          )}
          {rowsError && (
            <p className="field-error" role="alert">
              {rowsError}
            </p>
          )}
          <div className="form-actions">
            <Button kind="primary" onClick={() => void runEmbed()} pending={embed.pending} disabled={!shape}>
              Embed
            </Button>
          </div>
          <ErrorBox error={embed.error} />
        </Card>
        <Card title="Embeddings">
          {!embedded ? (
            <p className="muted">{embed.pending ? 'Embedding…' : 'Embed the rows to see their vectors.'}</p>
          ) : (
            <div data-testid="embeddings">
              <dl className="kv">
                <dt>Model</dt>
                <dd>
                  {embedded.model} v{embedded.model_version}
                </dd>
                <dt>Dimensions</dt>
                <dd>{embedded.dim}</dd>
                <dt>Server latency</dt>
                <dd>{formatNumber(embedded.latency_ms)} ms</dd>
              </dl>
              <Table caption="Embedding per row">
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">Vector</th>
                  </tr>
                </thead>
                <tbody>
                  {(embedded.embeddings ?? []).map((v, i) => (
                    <tr key={i}>
                      <td>{i + 1}</td>
                      <td className="mono small">{formatOutput(v)}</td>
                    </tr>
                  ))}
                </tbody>
              </Table>
            </div>
          )}
        </Card>
      </div>
      <Card title="Nearest rows of a dataset">
        {/* noValidate: the API checks k and the vectors and its message is shown next to the field. */}
        <form onSubmit={runSearch} noValidate>
          <div className="row" role="group" aria-label="Search with">
            <Button small kind={queryMode === 'rows' ? 'primary' : 'default'} onClick={() => setQueryMode('rows')} disabled={!shape}>
              The query rows above
            </Button>
            <Button small kind={queryMode === 'vectors' ? 'primary' : 'default'} onClick={() => setQueryMode('vectors')}>
              Vectors
            </Button>
          </div>
          {queryMode === 'vectors' && (
            <Field label="Query vectors (JSON)" hint="A list of vectors in the embedding space, e.g. [[0.8, -1.1]]" error={search.fieldError('vectors')}>
              {(id, d, invalid) => (
                <textarea
                  id={id}
                  rows={3}
                  className="mono"
                  aria-describedby={d}
                  aria-invalid={invalid || undefined}
                  value={vectors}
                  onChange={(e) => setVectors(e.target.value)}
                />
              )}
            </Field>
          )}
          <div className="row row-end">
            {datasets.error ? (
              <ErrorBox error={datasets.error} onRetry={datasets.reload} />
            ) : datasets.data && datasetNames.length === 0 ? (
              <p className="muted">No dataset to search yet.</p>
            ) : (
              <SelectField
                label="Dataset"
                value={chosenDataset}
                onChange={setDataset}
                options={datasetNames.length ? datasetNames : [{ value: '', label: 'Loading…' }]}
                error={search.fieldError('dataset')}
              />
            )}
            <TextField label="Neighbours (k)" type="number" min={1} max={1000} value={k} onChange={setK} error={search.fieldError('k')} />
            <CheckField label="Include the rows" checked={includeRows} onChange={setIncludeRows} />
          </div>
          <div className="form-actions">
            <Button type="submit" kind="primary" pending={search.pending} disabled={!chosenDataset}>
              Search
            </Button>
          </div>
        </form>
        <ErrorBox error={search.error} />
        {found && <SearchResults r={found} />}
      </Card>
    </>
  );
}

function SearchResults({ r }: { r: SearchResponse }) {
  const results = r.results ?? [];
  return (
    <div data-testid="search-results">
      <p className="muted small">
        {r.model} v{r.model_version} · dataset {r.dataset} ({r.rows} rows, {r.dim} dimensions) · k {r.k}
      </p>
      {results.map((hits, qi) => {
        const columns = [...new Set(hits.flatMap((h) => Object.keys(h.record ?? {})))];
        return (
          <div key={qi}>
            <h3>Query {qi + 1}</h3>
            {hits.length === 0 ? (
              <p className="state state-empty">No row found.</p>
            ) : (
              <Table caption={`Nearest rows for query ${qi + 1}`}>
                <thead>
                  <tr>
                    <th scope="col">Row</th>
                    <th scope="col">Distance</th>
                    {columns.map((c) => (
                      <th scope="col" key={c}>
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {hits.map((h, i) => (
                    <tr key={i} data-testid={`hit-${qi + 1}-${i + 1}`}>
                      <td>{h.row}</td>
                      <td className="mono small">{formatNumber(h.distance, 4)}</td>
                      {columns.map((c) => (
                        <td key={c}>{formatCell(h.record?.[c])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </Table>
            )}
          </div>
        );
      })}
    </div>
  );
}

function formatCell(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v, 4);
  return JSON.stringify(v);
}

// ------------------------------------------------------------------------------------------- generation models

type GenerateResponse = { text?: string; tokens?: number; model?: string; version?: number; latency_ms?: number };

function GenerateForm({ name, version }: { name: string; version: string }) {
  const [prompt, setPrompt] = useState('');
  const [maxTokens, setMaxTokens] = useState('200');
  const [temperature, setTemperature] = useState('1');
  const [topK, setTopK] = useState('0');
  const [seed, setSeed] = useState('');
  const action = useAction();
  const [result, setResult] = useState<{ r: GenerateResponse; prompt: string; roundTrip: number } | null>(null);

  async function generate(e: FormEvent) {
    e.preventDefault();
    const body = {
      prompt,
      max_tokens: Number(maxTokens),
      temperature: Number(temperature),
      top_k: Number(topK),
      ...(seed.trim() !== '' ? { seed: Number(seed) } : {}),
      ...selector(version),
    };
    setResult(null);
    const t0 = performance.now();
    const r = await action.run(() => api.post('/api/v1/models/{name}/generate', { path: { name }, body }), undefined, [
      'prompt',
      'max_tokens',
      'temperature',
      'top_k',
      'seed',
    ]);
    if (r) setResult({ r, prompt, roundTrip: performance.now() - t0 });
  }

  return (
    <div className="grid grid-2">
      <Card title="Prompt">
        {/* noValidate: the API checks the ranges and its message is shown next to the field. */}
        <form onSubmit={generate} noValidate>
          <Field label="Prompt" hint="The text to continue (empty: start as after a line break)" error={action.fieldError('prompt')}>
            {(id, d, invalid) => (
              <textarea
                id={id}
                rows={5}
                aria-describedby={d}
                aria-invalid={invalid || undefined}
                value={prompt}
                onChange={(e) => setPrompt(e.target.value)}
              />
            )}
          </Field>
          <div className="row row-end">
            <TextField label="Max tokens" type="number" min={1} max={2000} value={maxTokens} onChange={setMaxTokens} error={action.fieldError('max_tokens')} />
            <TextField label="Temperature" type="number" min={0} max={100} step="any" value={temperature} onChange={setTemperature} hint="0: greedy" error={action.fieldError('temperature')} />
            <TextField label="Top-k" type="number" min={0} value={topK} onChange={setTopK} hint="0: all characters" error={action.fieldError('top_k')} />
            <TextField label="Seed" type="number" min={0} value={seed} onChange={setSeed} hint="Empty: random" error={action.fieldError('seed')} />
          </div>
          <div className="form-actions">
            <Button type="submit" kind="primary" pending={action.pending}>
              Generate
            </Button>
          </div>
        </form>
        <ErrorBox error={action.error} />
      </Card>
      <Card title="Generated text">
        {!result ? (
          <p className="muted">{action.pending ? 'Generating…' : 'Generate to see the continuation.'}</p>
        ) : (
          <div data-testid="generation">
            <dl className="kv">
              <dt>Model</dt>
              <dd>
                {result.r.model} v{result.r.version}
              </dd>
              <dt>Characters</dt>
              <dd data-testid="generated-tokens">{result.r.tokens}</dd>
              <dt>Server latency</dt>
              <dd>{formatNumber(result.r.latency_ms)} ms</dd>
              <dt>Round trip</dt>
              <dd>{result.roundTrip.toFixed(1)} ms</dd>
            </dl>
            <pre className="generated" tabIndex={0} aria-label="Prompt and generated text">
              <span className="muted">{result.prompt}</span>
              <span data-testid="generated-text">{result.r.text}</span>
            </pre>
          </div>
        )}
      </Card>
    </div>
  );
}
