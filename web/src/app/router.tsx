// A minimal hash router: "#/models/iris?tab=versions".
//
// Hash routes keep every console URL on the server's index.html, whatever the route contains (model names and
// file keys may contain dots, which the server's static handler would take for file extensions).
import { useEffect, useState, type AnchorHTMLAttributes, type ReactNode } from 'react';

export interface Location {
  path: string;
  query: URLSearchParams;
}

function readLocation(): Location {
  const hash = window.location.hash.replace(/^#/, '');
  const [rawPath, rawQuery = ''] = hash.split('?', 2);
  const path = rawPath && rawPath.startsWith('/') ? rawPath : '/';
  return { path, query: new URLSearchParams(rawQuery) };
}

export function useLocation(): Location {
  const [loc, setLoc] = useState(readLocation);
  useEffect(() => {
    const on = () => setLoc(readLocation());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return loc;
}

export function href(to: string): string {
  return '#' + to;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) {
    window.location.replace(href(to));
  } else {
    window.location.hash = to;
  }
}

/** Builds "/path?query" from a path and query values (empty values are left out). */
export function withQuery(path: string, query: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** Matches "/models/:name" against a path; returns the decoded parameters or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  const rest = p.length > 0 && p[p.length - 1].endsWith('*');
  if (rest ? s.length < p.length - 1 : s.length !== p.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i];
    if (seg.endsWith('*')) {
      params[seg.slice(1, -1) || 'rest'] = s.slice(i).map(safeDecode).join('/');
      return params;
    }
    if (seg.startsWith(':')) {
      params[seg.slice(1)] = safeDecode(s[i]);
    } else if (seg !== s[i]) {
      return null;
    }
  }
  return params;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Path segment encoding for links ("/models/" + seg(name)). */
export function seg(value: string | number): string {
  return encodeURIComponent(String(value));
}

type LinkProps = Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> & { to: string; children: ReactNode };

export function Link({ to, children, ...rest }: LinkProps) {
  return (
    <a href={href(to)} {...rest}>
      {children}
    </a>
  );
}
