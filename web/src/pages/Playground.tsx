// Inference playground: pick a model and version, fill a form built from the version's signature (or write
// the JSON body), predict, and see the result and its latency.
import { useEffect, useState, type FormEvent } from 'react';
import { api, type Schemas } from '../api/client';
import type { Signature } from '../api/types';
import { useLocation } from '../app/router';
import {
  AsyncView, Button, Card, ErrorBox, Field, Json, Page, SelectField, Table, TextField, describeError, formatNumber, useAsync,
} from '../components/ui';

type PredictResponse = Schemas['PredictResponse'];

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
  const models = useAsync((signal) => api.get('/api/v1/models', { signal, query: { limit: 1000 } }), []);
  const [model, setModel] = useState(loc.query.get('model') ?? '');
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
      </div>
      {meta.error ? (
        <ErrorBox error={meta.error} onRetry={meta.reload} />
      ) : meta.data === undefined ? null : (
        <PredictForm key={`${name}:${version}:${meta.data.version}`} name={name} version={version} signature={meta.data.signature} />
      )}
    </>
  );
}

function PredictForm({ name, version, signature }: { name: string; version: string; signature?: Signature }) {
  const shape = formShape(signature);
  const width = shape ? shape.labels.length : null;
  const [mode, setMode] = useState<'form' | 'json'>(width ? 'form' : 'json');
  const [rows, setRows] = useState<string[][]>(width ? [new Array<string>(width).fill(shape?.numeric.every(Boolean) ? '0' : '')] : []);
  const [json, setJson] = useState(() =>
    JSON.stringify(
      shape?.kind === 'features'
        ? { instances: [Object.fromEntries(shape.labels.map((l, i) => [l, shape.numeric[i] ? 0 : '']))] }
        : { inputs: [new Array<number>(width ?? 4).fill(0)] },
      null,
      2,
    ),
  );
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<{ r: PredictResponse; roundTrip: number } | null>(null);

  useEffect(() => {
    setResult(null);
  }, [mode]);

  function body(): Record<string, unknown> {
    if (mode === 'form' && shape?.kind === 'features') {
      return {
        instances: rows.map((r) => Object.fromEntries(shape.labels.map((l, i) => [l, shape.numeric[i] ? Number(r[i]) : r[i]]))),
      };
    }
    if (mode === 'form') return { inputs: rows.map((r) => r.map((v) => Number(v))) };
    return JSON.parse(json) as Record<string, unknown>;
  }

  async function predict(e: FormEvent) {
    e.preventDefault();
    setError(null);
    let b: Record<string, unknown>;
    try {
      b = body();
    } catch (err) {
      setError('The request is not valid JSON: ' + (err instanceof Error ? err.message : String(err)));
      return;
    }
    if (mode === 'form' && rows.some((r) => r.some((v, i) => shape?.numeric[i] && (v.trim() === '' || Number.isNaN(Number(v)))))) {
      setError('Every field needs a number.');
      return;
    }
    setPending(true);
    const t0 = performance.now();
    try {
      const r =
        version === 'production'
          ? await api.post('/api/v1/models/{name}/predict', { path: { name }, body: b })
          : await api.post('/api/v1/models/{name}/versions/{version}/predict', { path: { name, version }, body: b });
      setResult({ r, roundTrip: performance.now() - t0 });
    } catch (err) {
      setResult(null);
      setError(describeError(err));
    } finally {
      setPending(false);
    }
  }

  const input = signature?.inputs?.[0];
  return (
    <div className="grid grid-2">
      <Card title="Request">
        {signature ? (
          <p className="muted small">
            Inputs: {(signature.inputs ?? []).map((i) => `${i.name} ${i.datatype} [${(i.shape ?? []).join(', ')}]`).join('; ')}
            {signature.outputs?.length ? ` · Outputs: ${signature.outputs.map((o) => `${o.name} ${o.datatype} [${(o.shape ?? []).join(', ')}]`).join('; ')}` : ''}
          </p>
        ) : (
          <p className="muted small">This version has no signature: write the request as JSON.</p>
        )}
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
        <form onSubmit={predict}>
          {mode === 'form' && width ? (
            <>
              {rows.map((row, ri) => (
                <fieldset key={ri} className="fieldset row-inputs">
                  <legend>
                    Row {ri + 1}
                    {shape?.kind === 'tensor' ? ` (${input?.name ?? 'input'})` : ''}
                  </legend>
                  {row.map((v, ci) => (
                    <TextField
                      key={ci}
                      label={`Row ${ri + 1} ${shape?.labels[ci] ?? `value ${ci + 1}`}`}
                      type={shape?.numeric[ci] ? 'number' : 'text'}
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
          ) : (
            <Field label="Request body (JSON)" hint='{"inputs": [[...], ...]} or {"instances": [{"feature": value}]}'>
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

function Outputs({ r }: { r: PredictResponse }) {
  const outputs = r.outputs ?? [];
  return (
    <Table caption="Outputs per row">
      <thead>
        <tr>
          <th scope="col">Row</th>
          {r.labels && <th scope="col">Label</th>}
          <th scope="col">Output</th>
          {r.probabilities && <th scope="col">Probabilities</th>}
        </tr>
      </thead>
      <tbody>
        {outputs.map((o, i) => (
          <tr key={i}>
            <td>{i + 1}</td>
            {r.labels && <td>{r.labels[i]}</td>}
            <td className="mono small">{formatOutput(o)}</td>
            {r.probabilities && (
              <td className="mono small">
                {(r.probabilities[i] ?? []).map((p, j) => `${r.classes?.[j] ?? j}: ${p.toFixed(3)}`).join(', ')}
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

function formatOutput(o: unknown): string {
  if (typeof o === 'number') return formatNumber(o, 4);
  if (Array.isArray(o) && o.every((x) => typeof x === 'number')) return '[' + o.map((x) => formatNumber(x as number, 4)).join(', ') + ']';
  return JSON.stringify(o);
}
