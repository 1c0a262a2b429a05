// A small typed client for the C19 AI HTTP API.
//
// Every call names a path template and a method exactly as docs/openapi.json declares them; the types come
// from src/api/schema.gen.ts, which `npm run build` regenerates from that document with openapi-typescript.
// A path or method that the document does not have, a wrong path parameter, query parameter or JSON body is
// a compile error, so the console cannot call a route the server does not serve.
//
// Authentication: the access token lives in memory (see auth/session.ts, which registers itself here with
// setAuthHooks). A 401 on an authenticated call triggers one token refresh and one retry.
import type { components, paths } from './schema.gen';

export type Schemas = components['schemas'];
export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

/** The operation object of `method` on `path`, or never when the document does not declare it. */
type OpOf<P extends keyof paths, M extends HttpMethod> = paths[P] extends { [K in M]: infer O } ? O : never;

/** Paths that declare `method`. */
export type PathsWith<M extends HttpMethod> = {
  [P in keyof paths]: paths[P] extends { [K in M]: infer O } ? ([O] extends [never] ? never : P) : never;
}[keyof paths];

type ParamsOf<O> = O extends { parameters: infer X } ? X : never;
type PathParams<O> = ParamsOf<O> extends { path: infer X } ? X : never;
type QueryParams<O> = ParamsOf<O> extends { query?: infer X } ? NonNullable<X> : never;
type JsonBody<O> = O extends { requestBody?: infer RB }
  ? [NonNullable<RB>] extends [never]
    ? never
    : NonNullable<RB> extends { content: { 'application/json': infer B } }
      ? B
      : never
  : never;
type JsonContent<R> = R extends { content: { 'application/json': infer J } } ? J : void;
/** The JSON answer of the operation's success status (200, else 201, else 202; void for 204 and non-JSON answers). */
export type Ok<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? JsonContent<R[200]>
    : 201 extends keyof R
      ? JsonContent<R[201]>
      : 202 extends keyof R
        ? JsonContent<R[202]>
        : void
  : never;

export type Options<O> = ([PathParams<O>] extends [never] ? { path?: undefined } : { path: PathParams<O> }) & {
  query?: [QueryParams<O>] extends [never] ? undefined : QueryParams<O>;
  body?: [JsonBody<O>] extends [never] ? undefined : JsonBody<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** false: send no token (login, refresh). */
  auth?: boolean;
  /** false: do not refresh the session and retry on 401 (default: as auth). */
  retry?: boolean;
};

type OptionArgs<O> = [PathParams<O>] extends [never] ? [options?: Options<O>] : [options: Options<O>];

/** An error answer of the API ({"error": {code, message, details, request_id}}) or a transport failure. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly requestId: string;

  constructor(status: number, code: string, message: string, details: Record<string, unknown> = {}, requestId = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

export interface AuthHooks {
  /** The current access token, or null when signed out. */
  accessToken(): string | null;
  /** Renews the access token; resolves false when the session is gone. Concurrent calls share one refresh. */
  refresh(): Promise<boolean>;
  /** Called when the session could not be renewed after a 401. */
  sessionEnded(): void;
}

let hooks: AuthHooks = {
  accessToken: () => null,
  refresh: async () => false,
  sessionEnded: () => {},
};

export function setAuthHooks(h: AuthHooks): void {
  hooks = h;
}

function encodeParam(name: string, value: unknown): string {
  const s = String(value);
  // A file key is "the rest of the path": keep its slashes, escape each segment.
  if (name === 'key') return s.split('/').map(encodeURIComponent).join('/');
  return encodeURIComponent(s);
}

/** Fills a path template ("/api/v1/models/{name}") and appends the query string. */
export function buildUrl(template: string, path?: object, query?: object): string {
  const params = (path ?? {}) as Record<string, unknown>;
  const url = template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined || v === null || v === '') throw new Error(`missing path parameter ${name} for ${template}`);
    return encodeParam(name, v);
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (v === undefined || v === null || v === '') continue;
    q.set(k, String(v));
  }
  const qs = q.toString();
  return qs ? `${url}?${qs}` : url;
}

/** Turns an error answer into an ApiError carrying the server's message. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  return errorFromBody(res.status, res.statusText, text);
}

export function errorFromBody(status: number, statusText: string, text: string): ApiError {
  try {
    const body = JSON.parse(text) as { error?: Partial<Schemas['Error']['error']> | string };
    // The Open Inference Protocol (V2) routes answer {"error": "message"}.
    if (body && typeof body.error === 'string') return new ApiError(status, 'v2_error', body.error);
    if (body && body.error && typeof body.error === 'object' && typeof body.error.message === 'string') {
      const e = body.error;
      return new ApiError(status, e.code ?? 'unknown', e.message ?? '', (e.details ?? {}) as Record<string, unknown>,
                          e.request_id ?? '');
    }
  } catch {
    // not JSON: fall through
  }
  const reason = statusText || 'error';
  return new ApiError(status, 'http_' + status, `The server answered ${status} ${reason}`);
}

function networkError(e: unknown): ApiError {
  if (e instanceof DOMException && e.name === 'AbortError') return new ApiError(0, 'aborted', 'The request was cancelled');
  return new ApiError(0, 'network', 'Cannot reach the server: ' + (e instanceof Error ? e.message : String(e)));
}

function authHeaders(auth: boolean): Record<string, string> {
  const token = auth ? hooks.accessToken() : null;
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * Runs `send` with the current token; on a 401 (when a token was sent) refreshes once and retries.
 * `send` must be repeatable (it builds a new request each time).
 */
async function withAuthRetry<T extends { status: number }>(
  auth: boolean,
  retry: boolean,
  send: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  const headers = authHeaders(auth);
  const first = await send(headers);
  if (first.status !== 401 || !retry || !headers.Authorization) return first;
  if (await hooks.refresh()) {
    const second = await send(authHeaders(true));
    if (second.status !== 401) return second;
  }
  hooks.sessionEnded();
  return first;
}

/** Calls one JSON operation of the API. */
export async function request<M extends HttpMethod, P extends PathsWith<M>>(
  method: M,
  path: P,
  ...args: OptionArgs<OpOf<P, M>>
): Promise<Ok<OpOf<P, M>>> {
  const options = (args[0] ?? {}) as Options<unknown> & { path?: object; query?: object; body?: unknown };
  const url = buildUrl(path as string, options.path, options.query);
  const auth = options.auth !== false;
  const retry = options.retry ?? auth;
  let res: Response;
  try {
    res = await withAuthRetry(auth, retry, (h) =>
      fetch(url, {
        method: method.toUpperCase(),
        headers: {
          Accept: 'application/json',
          ...(options.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
          ...h,
          ...(options.headers ?? {}),
        },
        body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
        signal: options.signal,
        credentials: 'omit',
      }),
    );
  } catch (e) {
    throw networkError(e);
  }
  if (!res.ok) throw await errorFromResponse(res);
  if (res.status === 204) return undefined as Ok<OpOf<P, M>>;
  const type = res.headers.get('Content-Type') ?? '';
  if (!type.includes('json')) return undefined as Ok<OpOf<P, M>>;
  return (await res.json()) as Ok<OpOf<P, M>>;
}

export const api = {
  get: <P extends PathsWith<'get'>>(path: P, ...args: OptionArgs<OpOf<P, 'get'>>) => request('get', path, ...args),
  post: <P extends PathsWith<'post'>>(path: P, ...args: OptionArgs<OpOf<P, 'post'>>) => request('post', path, ...args),
  put: <P extends PathsWith<'put'>>(path: P, ...args: OptionArgs<OpOf<P, 'put'>>) => request('put', path, ...args),
  patch: <P extends PathsWith<'patch'>>(path: P, ...args: OptionArgs<OpOf<P, 'patch'>>) => request('patch', path, ...args),
  delete: <P extends PathsWith<'delete'>>(path: P, ...args: OptionArgs<OpOf<P, 'delete'>>) => request('delete', path, ...args),
};

/** Downloads a binary answer (a file or a model artifact) with the session's token. */
export async function downloadBlob<P extends PathsWith<'get'>>(
  path: P,
  pathParams: PathParams<OpOf<P, 'get'>>,
): Promise<{ blob: Blob; filename: string | null }> {
  const url = buildUrl(path as string, pathParams as object);
  let res: Response;
  try {
    res = await withAuthRetry(true, true, (h) => fetch(url, { headers: h, credentials: 'omit' }));
  } catch (e) {
    throw networkError(e);
  }
  if (!res.ok) throw await errorFromResponse(res);
  const disposition = res.headers.get('Content-Disposition') ?? '';
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
  let filename: string | null = null;
  if (m) {
    try {
      filename = decodeURIComponent(m[1]);
    } catch {
      filename = m[1];
    }
  }
  return { blob: await res.blob(), filename };
}

/** Hands a blob to the browser as a download named `filename`. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

export interface UploadHandle<T> {
  promise: Promise<T>;
  abort(): void;
}

/**
 * Sends a body (a file, or multipart form data) with XMLHttpRequest so that upload progress is reported.
 * Refreshes the session and retries once on 401.
 */
export function upload<M extends 'put' | 'post', P extends PathsWith<M>>(
  method: M,
  path: P,
  pathParams: PathParams<OpOf<P, M>>,
  body: Blob | FormData,
  onProgress: (p: UploadProgress) => void,
  extraHeaders: Record<string, string> = {},
  query?: Record<string, string | number | undefined>,
): UploadHandle<Ok<OpOf<P, M>>> {
  const url = buildUrl(path as string, pathParams as object, query);
  let current: XMLHttpRequest | null = null;
  let aborted = false;
  const sendOnce = (headers: Record<string, string>) =>
    new Promise<{ status: number; statusText: string; text: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      current = xhr;
      xhr.open(method.toUpperCase(), url);
      for (const [k, v] of Object.entries({ Accept: 'application/json', ...headers, ...extraHeaders })) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 });
      xhr.onload = () => resolve({ status: xhr.status, statusText: xhr.statusText, text: xhr.responseText });
      xhr.onerror = () => reject(new ApiError(0, 'network', 'Cannot reach the server: the upload failed'));
      xhr.onabort = () => reject(new ApiError(0, 'aborted', 'The upload was cancelled'));
      if (aborted) {
        reject(new ApiError(0, 'aborted', 'The upload was cancelled'));
        return;
      }
      xhr.send(body);
    });
  const promise = withAuthRetry(true, true, sendOnce).then((r) => {
    if (r.status < 200 || r.status >= 300) throw errorFromBody(r.status, r.statusText, r.text);
    return (r.text ? JSON.parse(r.text) : undefined) as Ok<OpOf<P, M>>;
  });
  return {
    promise,
    abort: () => {
      aborted = true;
      (current as XMLHttpRequest | null)?.abort();
    },
  };
}

/** The WebSocket endpoint (declared in the OpenAPI document as GET). */
export const WEBSOCKET_PATH: PathsWith<'get'> = '/api/v1/ws';

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
