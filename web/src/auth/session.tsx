// The signed-in session: tokens, the caller's profile and permissions.
//
// The access token is kept in memory only. The refresh token is kept in sessionStorage (this tab only, gone
// when the tab closes) so that a reload does not sign the user out. Refreshes are shared: concurrent callers
// wait for one /auth/refresh, because presenting a used refresh token again revokes the whole session.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, api, setAuthHooks } from '../api/client';
import type { Permission, TokenPair, User } from '../api/types';

const REFRESH_KEY = 'c19ai.refresh_token';

type Listener = (token: string | null) => void;

/** Token holder shared by the API client and the WebSocket (module state: one session per tab). */
class TokenStore {
  private access: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private inflight: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();
  onEnded: () => void = () => {};

  accessToken(): string | null {
    return this.access;
  }

  hasRefreshToken(): boolean {
    return !!sessionStorage.getItem(REFRESH_KEY);
  }

  set(pair: TokenPair): void {
    this.access = pair.access_token ?? null;
    if (pair.refresh_token) sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
    if (this.timer) clearTimeout(this.timer);
    // Renew at 80 % of the lifetime so that calls and the WebSocket never present an expired token.
    const seconds = Math.max(10, (pair.expires_in ?? 900) * 0.8);
    this.timer = setTimeout(() => void this.refresh(), seconds * 1000);
    this.emit();
  }

  clear(): void {
    this.access = null;
    sessionStorage.removeItem(REFRESH_KEY);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.emit();
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private emit(): void {
    for (const l of this.listeners) l(this.access);
  }

  refresh(): Promise<boolean> {
    if (this.inflight) return this.inflight;
    const refreshToken = sessionStorage.getItem(REFRESH_KEY);
    if (!refreshToken) return Promise.resolve(false);
    this.inflight = api
      .post('/api/v1/auth/refresh', { body: { refresh_token: refreshToken }, auth: false })
      .then((pair) => {
        this.set(pair);
        return true;
      })
      .catch((e: unknown) => {
        // A refused refresh token ends the session; a network failure keeps it for a later try.
        if (e instanceof ApiError && (e.status === 400 || e.status === 401)) this.clear();
        return false;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }
}

export const tokens = new TokenStore();

setAuthHooks({
  accessToken: () => tokens.accessToken(),
  refresh: () => tokens.refresh(),
  sessionEnded: () => tokens.onEnded(),
});

export type AuthStatus = 'loading' | 'signed-out' | 'signed-in';

export interface LoginResult {
  ok: boolean;
  totpRequired?: boolean;
}

interface AuthContextValue {
  status: AuthStatus;
  user: User | null;
  /** Why the user was signed out (session expired, password changed), shown on the login page. */
  notice: string | null;
  login(username: string, password: string, totpCode?: string): Promise<LoginResult>;
  logout(): Promise<void>;
  /** Ends the local session without calling the server (after a password change, a revoked session...). */
  endSession(notice?: string): void;
  reloadUser(): Promise<void>;
  can(permission: Permission): boolean;
  canAny(permissions: Permission[]): boolean;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<AuthStatus>('loading');
  const [user, setUser] = useState<User | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const endSession = useCallback((message?: string) => {
    tokens.clear();
    setUser(null);
    setStatus('signed-out');
    setNotice(message ?? null);
  }, []);

  const loadUser = useCallback(async () => {
    const me = await api.get('/api/v1/auth/me');
    setUser(me);
    setStatus('signed-in');
  }, []);

  useEffect(() => {
    tokens.onEnded = () => endSession('Your session has ended. Please sign in again.');
    let cancelled = false;
    (async () => {
      if (!tokens.hasRefreshToken()) {
        setStatus('signed-out');
        return;
      }
      const ok = await tokens.refresh();
      if (cancelled) return;
      if (!ok) {
        setStatus('signed-out');
        return;
      }
      try {
        await loadUser();
      } catch {
        if (!cancelled) endSession('Your session could not be restored. Please sign in again.');
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [endSession, loadUser]);

  const login = useCallback(
    async (username: string, password: string, totpCode?: string): Promise<LoginResult> => {
      try {
        const pair = await api.post('/api/v1/auth/login', {
          body: { username, password, ...(totpCode ? { totp_code: totpCode } : {}) },
          auth: false,
        });
        tokens.set(pair);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401 && e.details.totp_required === true && !totpCode) {
          return { ok: false, totpRequired: true };
        }
        throw e;
      }
      setNotice(null);
      await loadUser();
      return { ok: true };
    },
    [loadUser],
  );

  const logout = useCallback(async () => {
    try {
      if (tokens.accessToken()) await api.post('/api/v1/auth/logout', { retry: false });
    } catch {
      // The session is dropped locally whatever the server answered.
    }
    endSession();
  }, [endSession]);

  const value = useMemo<AuthContextValue>(() => {
    const perms = new Set(user?.permissions ?? []);
    return {
      status,
      user,
      notice,
      login,
      logout,
      endSession,
      reloadUser: loadUser,
      can: (p) => perms.has(p),
      canAny: (ps) => ps.some((p) => perms.has(p)),
    };
  }, [status, user, notice, login, logout, endSession, loadUser]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}
