// Shared building blocks: data loading with loading / empty / error states, forms, tables, formatting.
// Every value from the API is rendered as React text (never as HTML).
import { useCallback, useEffect, useId, useRef, useState, type ReactNode } from 'react';
import { ApiError, errorMessage } from '../api/client';

export interface AsyncState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  /** Replaces the data without a request (after a change answered with the new state). */
  setData: (d: T) => void;
}

/** Runs `load` on mount and whenever `deps` change; stale answers are dropped. */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): AsyncState<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    loadRef
      .current(ctl.signal)
      .then((d) => {
        if (ctl.signal.aborted) return;
        setData(d);
        setError(null);
      })
      .catch((e: unknown) => {
        if (ctl.signal.aborted) return;
        setError(e);
      })
      .finally(() => {
        if (!ctl.signal.aborted) setLoading(false);
      });
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** Calls `fn` every `ms` milliseconds while mounted (and the tab is visible). */
export function useInterval(fn: () => void, ms: number | null): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (ms === null) return undefined;
    const id = setInterval(() => {
      if (document.visibilityState !== 'hidden') ref.current();
    }, ms);
    return () => clearInterval(id);
  }, [ms]);
}

/**
 * An action (a button's request): pending flag, the API's error message, and a success notice.
 * `fieldError(name)` is the API's message when its error names that field (error.details.field is `name`,
 * or a part of it such as `name[0]` or `name.min`), to show next to the control; `error` then stays null so that
 * the message is shown once (pass `fields` to `run` to say which fields the form shows).
 */
export function useAction() {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [fieldErr, setFieldErr] = useState<{ field: string; message: string } | null>(null);
  const run = useCallback(
    async <T,>(fn: () => Promise<T>, success?: string | ((r: T) => string), fields?: string[]): Promise<T | undefined> => {
      setPending(true);
      setError(null);
      setNotice(null);
      setFieldErr(null);
      try {
        const r = await fn();
        if (success) setNotice(typeof success === 'function' ? success(r) : success);
        return r;
      } catch (e) {
        const f = fieldOf(e);
        const shown = f !== null && fields?.find((name) => fieldMatches(f, name));
        if (shown && e instanceof ApiError) setFieldErr({ field: shown, message: e.message });
        else setError(describeError(e));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [],
  );
  const fieldError = useCallback((name: string) => (fieldErr && fieldErr.field === name ? fieldErr.message : null), [fieldErr]);
  return { pending, error, notice, run, setError, setNotice, fieldError };
}

function fieldOf(e: unknown): string | null {
  return e instanceof ApiError && typeof e.details.field === 'string' ? e.details.field : null;
}

/** Whether an API error's field ("vectors[0]", "schema.fields[1].data_type") is `name` or a part of it. */
export function fieldMatches(field: string, name: string): boolean {
  return field === name || field.startsWith(name + '.') || field.startsWith(name + '[');
}

export function describeError(e: unknown): string {
  if (e instanceof ApiError) {
    const field = typeof e.details.field === 'string' ? ` (field: ${e.details.field})` : '';
    return e.message + field;
  }
  return errorMessage(e);
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </p>
  );
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : describeError(error);
  const reqId = error instanceof ApiError && error.requestId ? error.requestId : null;
  return (
    <div className="state state-error" role="alert">
      <strong>Error: </strong>
      <span className="error-message">{msg}</span>
      {reqId && <span className="muted"> (request {reqId})</span>}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

export function Notice({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="state state-ok" role="status">
      {children}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="state state-empty">{children}</p>;
}

/** Renders loading / error / empty states of an AsyncState, else `children(data)`. */
export function AsyncView<T>({
  state,
  children,
  isEmpty,
  empty,
}: {
  state: AsyncState<T>;
  children: (data: T) => ReactNode;
  isEmpty?: (data: T) => boolean;
  empty?: ReactNode;
}) {
  if (state.error && state.data === undefined) return <ErrorBox error={state.error} onRetry={state.reload} />;
  if (state.data === undefined) return <Loading />;
  return (
    <>
      {state.error ? <ErrorBox error={state.error} onRetry={state.reload} /> : null}
      {isEmpty && isEmpty(state.data) ? <Empty>{empty ?? 'Nothing here yet.'}</Empty> : children(state.data)}
    </>
  );
}

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · C19 AI`;
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{title}</h1>
        {actions && <div className="page-actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

export function Card({ title, children, className }: { title?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={'card ' + (className ?? '')}>
      {title && <h2 className="card-title">{title}</h2>}
      {children}
    </section>
  );
}

/**
 * A labelled form control: the label is tied to the control by id. `error` (e.g. the API's message for this
 * field, from error.details.field) is shown under the control and named by its aria-describedby.
 */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: string;
  error?: string | null;
  children: (id: string, describedBy?: string, invalid?: boolean) => ReactNode;
}) {
  const id = useId();
  const hintId = hint ? id + '-hint' : undefined;
  const errorId = error ? id + '-error' : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={error ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children(id, describedBy, !!error)}
      {error && (
        <small id={errorId} className="field-error">
          {error}
        </small>
      )}
      {hint && (
        <small id={hintId} className="hint">
          {hint}
        </small>
      )}
    </div>
  );
}

export function TextField({
  label,
  value,
  onChange,
  type = 'text',
  hint,
  required,
  placeholder,
  autoComplete,
  min,
  max,
  step,
  inputMode,
  name,
  error,
}: {
  label: string;
  value: string | number;
  onChange: (v: string) => void;
  type?: string;
  hint?: string;
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
  min?: number;
  max?: number;
  step?: number | string;
  inputMode?: 'numeric' | 'decimal' | 'text';
  name?: string;
  error?: string | null;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy, invalid) => (
        <input
          id={id}
          name={name}
          type={type}
          value={value}
          required={required}
          placeholder={placeholder}
          autoComplete={autoComplete}
          min={min}
          max={max}
          step={step}
          inputMode={inputMode}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField<T extends string>({
  label,
  value,
  onChange,
  options,
  hint,
  error,
}: {
  label: string;
  value: T;
  onChange: (v: T) => void;
  options: (T | { value: T; label: string })[];
  hint?: string;
  error?: string | null;
}) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(id, describedBy, invalid) => (
        <select id={id} value={value} aria-describedby={describedBy} aria-invalid={invalid || undefined} onChange={(e) => onChange(e.target.value as T)}>
          {options.map((o) => {
            const v = typeof o === 'string' ? o : o.value;
            const l = typeof o === 'string' ? o : o.label;
            return (
              <option key={v} value={v}>
                {l}
              </option>
            );
          })}
        </select>
      )}
    </Field>
  );
}

export function CheckField({ label, checked, onChange }: { label: string; checked: boolean; onChange: (v: boolean) => void }) {
  const id = useId();
  return (
    <div className="field field-check">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} />
      <label htmlFor={id}>{label}</label>
    </div>
  );
}

export function Button({
  children,
  onClick,
  pending,
  kind = 'default',
  type = 'button',
  disabled,
  small,
  label,
}: {
  children: ReactNode;
  onClick?: () => void;
  pending?: boolean;
  kind?: 'default' | 'primary' | 'danger';
  type?: 'button' | 'submit';
  disabled?: boolean;
  small?: boolean;
  label?: string;
}) {
  return (
    <button
      type={type}
      className={`btn btn-${kind}${small ? ' btn-small' : ''}`}
      onClick={onClick}
      disabled={disabled || pending}
      aria-busy={pending || undefined}
      aria-label={label}
    >
      {children}
    </button>
  );
}

/** A scrollable table wrapper (narrow windows scroll the table, not the page). */
export function Table({ caption, children }: { caption: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table>
        <caption className="sr-only">{caption}</caption>
        {children}
      </table>
    </div>
  );
}

export function Badge({ children, tone }: { children: ReactNode; tone?: string }) {
  return <span className={`badge badge-${tone ?? 'plain'}`}>{children}</span>;
}

export function StageBadge({ stage }: { stage?: string | null }) {
  const s = stage ?? 'none';
  const tone = s === 'production' ? 'good' : s === 'staging' ? 'info' : s === 'archived' ? 'muted' : 'plain';
  return <Badge tone={tone}>{s}</Badge>;
}

export function Progress({ value, max, label }: { value: number; max: number; label: string }) {
  return (
    <div className="progress">
      <progress value={value} max={max || 1} aria-label={label} />
      <span>{max ? `${Math.round((value / max) * 100)} %` : formatBytes(value)}</span>
    </div>
  );
}

export function formatBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || Number.isNaN(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export function formatDate(s: string | null | undefined): string {
  if (!s) return '—';
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) return s;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function formatNumber(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (Number.isInteger(n)) return String(n);
  return Number(n.toPrecision(digits + 2)).toString();
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

/** Pretty JSON as text (inside a <pre>). */
export function Json({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre className="json" aria-label={label} tabIndex={0}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Forbidden() {
  return (
    <Page title="Not allowed">
      <div className="state state-error" role="alert">
        Your account does not have the permission this page needs. Ask an administrator for a role that grants it.
      </div>
    </Page>
  );
}

/** `confirm()` with a consistent wording. */
export function confirmAction(what: string): boolean {
  return window.confirm(what);
}
