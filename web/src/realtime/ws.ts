// One WebSocket per tab to /api/v1/ws: authenticates with the first message {"op":"auth","token"} (no secret in
// the URL), re-sends {"op":"auth"} when the access token is renewed, subscribes to the rooms the mounted screens
// ask for (reference counted), resumes each room from the last event id after a reconnect, and hands events to
// listeners.
import { useEffect, useRef, useState } from 'react';
import { WEBSOCKET_PATH } from '../api/client';
import { tokens } from '../auth/session';

export interface RealtimeEvent {
  id?: string;
  type: string;
  room?: string;
  data?: Record<string, unknown>;
  ts?: string;
}

export type ConnectionState = 'offline' | 'connecting' | 'live';

type EventListener = (e: RealtimeEvent) => void;
type StateListener = (s: ConnectionState) => void;

class RealtimeClient {
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'offline';
  private authed = false;
  private rooms = new Map<string, number>();
  /** Rooms the server acknowledged (events of these rooms are being delivered). */
  private acked = new Set<string>();
  private lastIds = new Map<string, string>();
  private listeners = new Set<EventListener>();
  private stateListeners = new Set<StateListener>();
  private retry = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    tokens.subscribe((token) => {
      if (!token) {
        this.close();
        return;
      }
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.send({ op: 'auth', token });
      else if (!this.ws) this.connect();
    });
    if (tokens.accessToken()) this.connect();
  }

  private setState(s: ConnectionState): void {
    this.state = s;
    if (s !== 'live') this.acked.clear();
    for (const l of this.stateListeners) l(s);
  }

  subscribedRooms(): string[] {
    return [...this.acked].sort();
  }

  getState(): ConnectionState {
    return this.state;
  }

  private connect(): void {
    const token = tokens.accessToken();
    if (!token || this.ws) return;
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${window.location.host}${WEBSOCKET_PATH}`);
    this.ws = ws;
    this.authed = false;
    this.setState('connecting');
    ws.onopen = () => {
      const t = tokens.accessToken();
      if (t) this.send({ op: 'auth', token: t });
    };
    ws.onmessage = (m) => {
      let msg: RealtimeEvent & { op?: string };
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      if (msg.type === 'ack' && msg.op === 'auth') {
        if (!this.authed) {
          this.authed = true;
          this.retry = 0;
          this.setState('live');
          for (const room of this.rooms.keys()) this.subscribeRoom(room);
        }
        return;
      }
      if (msg.type === 'ack' && msg.room && (msg.op === 'subscribe' || msg.op === 'unsubscribe')) {
        if (msg.op === 'subscribe') this.acked.add(msg.room);
        else this.acked.delete(msg.room);
        for (const l of this.stateListeners) l(this.state);
        return;
      }
      if (msg.type === 'resync' && msg.room) {
        this.lastIds.delete(msg.room);
      }
      if (msg.id && msg.room) this.lastIds.set(msg.room, msg.id);
      for (const l of this.listeners) l(msg);
    };
    ws.onclose = (ev) => {
      this.ws = null;
      this.authed = false;
      this.setState('offline');
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = null;
      if (!tokens.accessToken()) return;
      // 4001: the token expired or was refused; renew it before reconnecting.
      if (ev.code === 4001) void tokens.refresh();
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    this.pingTimer = setInterval(() => this.send({ op: 'ping' }), 25_000);
  }

  private close(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.lastIds.clear();
    this.setState('offline');
  }

  private send(msg: object): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private subscribeRoom(room: string): void {
    if (!this.authed) return;
    const since = this.lastIds.get(room);
    this.send(since ? { op: 'subscribe', room, since } : { op: 'subscribe', room });
  }

  /** `history`: on the first join, ask for the events the server still holds (since "<room>:0"). */
  join(room: string, history = false): () => void {
    const n = this.rooms.get(room) ?? 0;
    this.rooms.set(room, n + 1);
    if (n === 0 && history && !this.lastIds.has(room)) this.lastIds.set(room, `${room}:0`);
    if (n === 0) this.subscribeRoom(room);
    return () => {
      const left = (this.rooms.get(room) ?? 1) - 1;
      if (left <= 0) {
        this.rooms.delete(room);
        this.lastIds.delete(room);
        if (this.authed) this.send({ op: 'unsubscribe', room });
      } else {
        this.rooms.set(room, left);
      }
    };
  }

  listen(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  onState(l: StateListener): () => void {
    this.stateListeners.add(l);
    return () => this.stateListeners.delete(l);
  }
}

export const realtime = new RealtimeClient();

/** Joins `rooms` while mounted and calls `onEvent` for their events (not for op answers). */
export function useRealtime(rooms: string[], onEvent: (e: RealtimeEvent) => void, options: { history?: boolean } = {}): void {
  const ref = useRef(onEvent);
  ref.current = onEvent;
  const key = rooms.join('|');
  const history = !!options.history;
  useEffect(() => {
    const list = key ? key.split('|') : [];
    const leaves = list.map((r) => realtime.join(r, history));
    const off = realtime.listen((e) => {
      if (e.room && list.includes(e.room) && e.id) ref.current(e);
    });
    return () => {
      off();
      for (const leave of leaves) leave();
    };
  }, [key, history]);
}

export function useConnectionState(): ConnectionState {
  const [s, setS] = useState<ConnectionState>(realtime.getState());
  useEffect(() => realtime.onState(setS), []);
  return s;
}

/** The rooms whose subscription the server acknowledged (for the status indicator and tests). */
export function useSubscribedRooms(): string[] {
  const [rooms, setRooms] = useState<string[]>(realtime.subscribedRooms());
  useEffect(
    () =>
      realtime.onState(() =>
        setRooms((prev) => {
          const next = realtime.subscribedRooms();
          return next.join(' ') === prev.join(' ') ? prev : next;
        }),
      ),
    [],
  );
  return rooms;
}
