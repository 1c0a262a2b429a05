// Validation without a dataset: check pasted records against a stored schema, a schema written as JSON or a Great
// Expectations suite (POST /api/v1/validate, as a guard in front of inference would), import a Great Expectations
// suite as a stored schema (POST /api/v1/schemas/import), and list the stored schemas.
import { useState, type FormEvent } from 'react';
import { api, type Schemas } from '../../api/client';
import { useAuth } from '../../auth/session';
import {
  AsyncView, Badge, Button, Card, ErrorBox, Field, Json, Notice, Page, SelectField, Table, TextField, useAction, useAsync,
} from '../../components/ui';
import { ValidationReport } from './Datasets';

type DataSchema = Schemas['DataSchema'];
type GxSuite = Schemas['GxSuite'];
type Report = Schemas['ValidationReport'];

const EXAMPLE_RECORDS = '[\n  {"age": 31, "email": "ada@example.com"},\n  {"age": -4, "email": "not an address"}\n]';
const EXAMPLE_SCHEMA = JSON.stringify(
  {
    name: 'people',
    fields: [
      { name: 'age', data_type: 'integer', constraints: [{ type: 'range', min: 0, max: 130 }] },
      { name: 'email', data_type: 'string', constraints: [{ type: 'regex', pattern: '^[^@]+@[^@]+$' }] },
    ],
  },
  null,
  2,
);

export function ValidationPage() {
  const auth = useAuth();
  const schemas = useAsync((signal) => api.get('/api/v1/schemas', { signal }), []);
  return (
    <Page title="Validation">
      <div className="grid grid-2">
        <RecordsCard schemas={schemas.data?.items ?? []} />
        {auth.can('datasets:write') && <ImportSuiteCard onImported={schemas.reload} />}
      </div>
      <Card title="Stored schemas">
        <AsyncView state={schemas} isEmpty={(d) => (d.items ?? []).length === 0} empty="No schema is stored yet.">
          {(d) => <SchemasTable items={d.items ?? []} />}
        </AsyncView>
      </Card>
    </Page>
  );
}

/**
 * Records as a JSON list of objects, or JSON Lines (one object a line). Returns the records or a message naming
 * the problem.
 */
function parseRecords(text: string): Record<string, unknown>[] | string {
  const t = text.trim();
  if (!t) return 'Paste at least one record.';
  let parsed: unknown;
  try {
    parsed = t.startsWith('[') ? JSON.parse(t) : t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    return 'The records are not valid JSON: ' + (err instanceof Error ? err.message : String(err));
  }
  if (!Array.isArray(parsed) || parsed.length === 0) return 'The records must be a non-empty list of objects.';
  const bad = parsed.findIndex((r) => typeof r !== 'object' || r === null || Array.isArray(r));
  if (bad >= 0) return `Record ${bad + 1} is not an object.`;
  return parsed as Record<string, unknown>[];
}

function RecordsCard({ schemas }: { schemas: DataSchema[] }) {
  const [source, setSource] = useState<'stored' | 'json'>(schemas.length ? 'stored' : 'json');
  const [schemaName, setSchemaName] = useState('');
  const [schemaJson, setSchemaJson] = useState(EXAMPLE_SCHEMA);
  const [records, setRecords] = useState(EXAMPLE_RECORDS);
  const [local, setLocal] = useState<{ field: 'records' | 'schema'; message: string } | null>(null);
  const [report, setReport] = useState<Report | null>(null);
  const action = useAction();
  const names = schemas.map((s) => s.name ?? '').filter(Boolean);
  const chosen = schemaName || names[0] || '';

  async function validate(e: FormEvent) {
    e.preventDefault();
    setLocal(null);
    setReport(null);
    const recs = parseRecords(records);
    if (typeof recs === 'string') {
      setLocal({ field: 'records', message: recs });
      return;
    }
    let rule: { schema?: DataSchema; expectation_suite?: GxSuite; schema_name?: string };
    if (source === 'stored') {
      if (!chosen) {
        setLocal({ field: 'schema', message: 'No schema is stored yet: write one as JSON.' });
        return;
      }
      rule = { schema_name: chosen };
    } else {
      let s: unknown;
      try {
        s = JSON.parse(schemaJson);
      } catch (err) {
        setLocal({ field: 'schema', message: 'The schema is not valid JSON: ' + (err instanceof Error ? err.message : String(err)) });
        return;
      }
      if (typeof s !== 'object' || s === null || Array.isArray(s)) {
        setLocal({ field: 'schema', message: 'The schema must be a JSON object.' });
        return;
      }
      // A Great Expectations suite has "expectations"; our schemas have "fields" and "constraints".
      rule = 'expectations' in s ? { expectation_suite: s as GxSuite } : { schema: s as DataSchema };
    }
    const r = await action.run(() => api.post('/api/v1/validate', { body: { ...rule, records: recs } }), undefined, [
      'records',
      'schema',
      'schema_name',
      'expectation_suite',
    ]);
    if (r) setReport(r);
  }

  const recordsError = (local?.field === 'records' ? local.message : null) ?? action.fieldError('records');
  const schemaError =
    (local?.field === 'schema' ? local.message : null) ??
    action.fieldError('schema') ??
    action.fieldError('expectation_suite') ??
    action.fieldError('schema_name');
  return (
    <Card title="Validate records">
      <p className="muted small">
        Checks records before they reach a model or a dataset. Rows in the report count the records from 1.
      </p>
      <form onSubmit={validate}>
        <SelectField
          label="Rules from"
          value={source}
          onChange={setSource}
          options={[
            { value: 'stored', label: 'a stored schema' },
            { value: 'json', label: 'a schema or Great Expectations suite (JSON)' },
          ]}
        />
        {source === 'stored' ? (
          names.length === 0 ? (
            <p className="state state-empty">No schema is stored yet: write one as JSON or import a suite.</p>
          ) : (
            <SelectField label="Schema" value={chosen} onChange={setSchemaName} options={names} error={schemaError} />
          )
        ) : (
          <Field label="Schema (JSON)" hint='Our schema {"fields", "constraints"} or a suite {"expectations": [...]}' error={schemaError}>
            {(id, d, invalid) => (
              <textarea
                id={id}
                rows={8}
                className="mono"
                aria-describedby={d}
                aria-invalid={invalid || undefined}
                value={schemaJson}
                onChange={(e) => setSchemaJson(e.target.value)}
              />
            )}
          </Field>
        )}
        <Field label="Records (JSON)" hint="A list of objects, or JSON Lines (one object a line)" error={recordsError}>
          {(id, d, invalid) => (
            <textarea
              id={id}
              rows={8}
              className="mono"
              aria-describedby={d}
              aria-invalid={invalid || undefined}
              value={records}
              onChange={(e) => setRecords(e.target.value)}
            />
          )}
        </Field>
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Validate records
          </Button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      {report && <ValidationReport r={report} />}
    </Card>
  );
}

function ImportSuiteCard({ onImported }: { onImported: () => void }) {
  const [text, setText] = useState('');
  const [name, setName] = useState('');
  const [local, setLocal] = useState<string | null>(null);
  const [result, setResult] = useState<{ schema?: DataSchema; unsupported?: string[] } | null>(null);
  const action = useAction();

  async function readFile(f: File | undefined) {
    if (!f) return;
    setText(await f.text());
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setLocal(null);
    setResult(null);
    let suite: unknown;
    try {
      suite = JSON.parse(text);
    } catch (err) {
      setLocal('The suite is not valid JSON: ' + (err instanceof Error ? err.message : String(err)));
      return;
    }
    if (typeof suite !== 'object' || suite === null || !Array.isArray((suite as GxSuite).expectations)) {
      setLocal('A suite is an object with "expectation_suite_name" and a list of "expectations".');
      return;
    }
    const r = await action.run(
      () => api.post('/api/v1/schemas/import', { query: { name: name.trim() || undefined }, body: suite as GxSuite }),
      (x) => `Imported schema ${x.schema?.name ?? ''} version ${x.schema?.version ?? ''}.`,
      ['expectations', 'expectation_suite_name', 'name'],
    );
    if (r) {
      setResult(r);
      onImported();
    }
  }

  const suiteError = local ?? action.fieldError('expectations') ?? action.fieldError('expectation_suite_name');
  const rules = result?.schema?.constraints ?? [];
  return (
    <Card title="Import a Great Expectations suite">
      <form onSubmit={submit}>
        <Field label="Suite file (JSON)" hint="Fills the text below">
          {(id, d) => (
            <input id={id} type="file" accept=".json,application/json" aria-describedby={d} onChange={(e) => void readFile(e.target.files?.[0])} />
          )}
        </Field>
        <Field label="Expectation suite (JSON)" hint='{"expectation_suite_name": "...", "expectations": [{"expectation_type", "kwargs"}]}' error={suiteError}>
          {(id, d, invalid) => (
            <textarea
              id={id}
              rows={8}
              className="mono"
              aria-describedby={d}
              aria-invalid={invalid || undefined}
              value={text}
              onChange={(e) => setText(e.target.value)}
            />
          )}
        </Field>
        <TextField label="Schema name" value={name} onChange={setName} hint="Empty: the suite's name" error={action.fieldError('name')} />
        <div className="form-actions">
          <Button type="submit" kind="primary" pending={action.pending}>
            Import suite
          </Button>
        </div>
      </form>
      <ErrorBox error={action.error} />
      <Notice>{action.notice}</Notice>
      {result && (
        <div data-testid="import-result">
          {(result.unsupported ?? []).length > 0 && (
            <div className="state state-error" role="status">
              <strong>Not imported (cannot run here): </strong>
              <ul aria-label="Unsupported expectations">
                {(result.unsupported ?? []).map((u, i) => (
                  <li key={i} className="mono small">
                    {u}
                  </li>
                ))}
              </ul>
            </div>
          )}
          <Table caption="Imported rules">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Column</th>
                <th scope="col">Expectation</th>
                <th scope="col">Settings</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((c, i) => {
                const { type, column, gx, ...rest } = c as { type?: string; column?: string; gx?: string } & Record<string, unknown>;
                return (
                  <tr key={i}>
                    <td className="mono small">{type}</td>
                    <td>{column ?? '—'}</td>
                    <td className="mono small">{gx ?? '—'}</td>
                    <td className="mono small">{JSON.stringify(rest)}</td>
                  </tr>
                );
              })}
              {(result.schema?.fields ?? []).map((f, i) => (
                <tr key={`f${i}`}>
                  <td className="mono small">field</td>
                  <td>{f.name}</td>
                  <td className="mono small">—</td>
                  <td className="mono small">{JSON.stringify({ data_type: f.data_type, constraints: f.constraints ?? [] })}</td>
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
      )}
    </Card>
  );
}

function SchemasTable({ items }: { items: DataSchema[] }) {
  const [open, setOpen] = useState<string | null>(null);
  return (
    <>
      <Table caption="Stored schemas">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Version</th>
            <th scope="col">Fields</th>
            <th scope="col">Dataset rules</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.name} data-testid={`schema-${s.name}`}>
              <th scope="row">{s.name}</th>
              <td>
                <Badge>v{s.version}</Badge>
              </td>
              <td>{(s.fields ?? []).length}</td>
              <td>{(s.constraints ?? []).length}</td>
              <td>
                <Button small onClick={() => setOpen(open === s.name ? null : s.name ?? null)} label={`Show schema ${s.name}`}>
                  {open === s.name ? 'Hide' : 'Show'}
                </Button>
              </td>
            </tr>
          ))}
        </tbody>
      </Table>
      {items
        .filter((s) => s.name === open)
        .map((s) => (
          <Json key={s.name} value={s} label={`Schema ${s.name}`} />
        ))}
    </>
  );
}
