import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { DeliveryAttempt } from '../shared/delivery.js';
import { StoppableTimers } from '../shared/timers.js';
import type { SlackDelivery } from './outbound.js';

/** Socket Mode envelope types, as Slack names them. */
export type EnvelopeType = 'events_api' | 'interactive' | 'slash_commands';

/** Why Slack asks a connection to go away (the `reason` of a `disconnect` frame). */
export type DisconnectReason = 'warning' | 'refresh_requested' | 'link_disabled' | 'too_many_websockets';

export interface SocketModeOptions {
  /** How long an envelope waits for its ack (Slack: 3 s). */
  ackTimeoutMs: number;
  /** Slack allows 10 connections per app; an 11th is told `too_many_websockets`. */
  maxConnections: number;
  /** Tickets from apps.connections.open are single-use and short-lived. */
  ticketTtlMs: number;
  /** Server pings keep the client's ping watchdog happy, as Slack's do. */
  pingIntervalMs: number;
  /** After `refresh_requested`/`link_disabled`, the socket is closed if the client has not left by then. */
  disconnectGraceMs: number;
  logger?: { warn(...a: unknown[]): void };
}

interface Connection {
  id: string;
  ws: WebSocket;
  openedAt: string;
  /** Envelopes sent on this connection. */
  sent: number;
  closed: boolean;
}

/** One envelope put on a socket and what came of it. */
export interface EnvelopeRecord {
  envelope_id: string;
  type: EnvelopeType;
  connection: string;
  at: string;
  retry_attempt: number;
  retry_reason: string;
  acked: boolean;
  /** An ack that arrived after the attempt had already been given up. */
  late_ack?: boolean;
  ack_payload?: unknown;
}

interface Waiter {
  resolve: (ack: { payload?: unknown } | undefined) => void;
  timer: NodeJS.Timeout;
  record: EnvelopeRecord;
  connection: Connection;
}

const LINK_PATH = '/link/';

/**
 * Slack's Socket Mode, served by the emulator: `apps.connections.open` hands out single-use
 * `ws://…/link/?ticket=…` URLs; each connection gets `hello`; envelopes (events, interactivity,
 * slash commands) go round-robin to the open connections and must be acked with
 * `{envelope_id, payload?}` within 3 s. Events that are not acked are redelivered (a new
 * envelope, same `event_id`, `retry_attempt`/`retry_reason` set) after the Events API delays;
 * interactivity and commands are not (the person just sees an error), as on Slack.
 */
export class SocketModeHub {
  /** The app's Socket Mode switch: when on, nothing goes to the HTTP request URLs. */
  enabled = false;
  readonly envelopes: EnvelopeRecord[] = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly tickets = new Map<string, number>();
  private readonly conns: Connection[] = [];
  private readonly waiters = new Map<string, Waiter>();
  private readonly connectionWaiters = new Set<() => void>();
  private readonly timers = new StoppableTimers();
  private pingTimer: NodeJS.Timeout | undefined;
  private rr = 0;

  constructor(
    readonly opts: SocketModeOptions,
    private readonly appId: string,
    private readonly baseUrl: () => string,
  ) {}

  /** Takes over WebSocket upgrades on `/link/` of the emulator's HTTP server. */
  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://emulator');
      if (url.pathname !== LINK_PATH && url.pathname !== LINK_PATH.slice(0, -1)) {
        socket.destroy();
        return;
      }
      const ticket = url.searchParams.get('ticket') ?? '';
      const issued = this.tickets.get(ticket);
      this.tickets.delete(ticket);
      if (this.timers.stopped || issued === undefined || Date.now() - issued > this.opts.ticketTtlMs) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws));
    });
    this.pingTimer = setInterval(() => {
      for (const c of this.open()) c.ws.ping();
    }, this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** A fresh single-use URL, as `apps.connections.open` returns it. */
  issueUrl(): string {
    const ticket = randomBytes(16).toString('hex');
    this.tickets.set(ticket, Date.now());
    return `${this.baseUrl().replace(/^http/, 'ws')}${LINK_PATH}?ticket=${ticket}&app_id=${this.appId}`;
  }

  open(): Connection[] {
    return this.conns.filter((c) => !c.closed);
  }

  connections() {
    return this.conns.map((c) => ({ id: c.id, openedAt: c.openedAt, sent: c.sent, open: !c.closed }));
  }

  private onConnection(ws: WebSocket): void {
    const conn: Connection = {
      id: `conn-${randomBytes(4).toString('hex')}`,
      ws,
      openedAt: new Date().toISOString(),
      sent: 0,
      closed: false,
    };
    this.conns.push(conn);
    // Keep the list bounded: forget closed connections once it grows.
    if (this.conns.length > 200) this.conns.splice(0, this.conns.length, ...this.conns.filter((c) => !c.closed));
    ws.on('message', (data: Buffer) => this.onMessage(conn, data.toString('utf8')));
    ws.on('close', () => this.onClose(conn));
    ws.on('error', () => this.onClose(conn));
    // With the app's Socket Mode switch off, Slack tells a connecting client the link is disabled.
    if (!this.enabled) {
      this.sendFrame(conn, { type: 'disconnect', reason: 'link_disabled', debug_info: this.debugInfo() });
      this.closeLater(conn, this.opts.disconnectGraceMs);
      return;
    }
    if (this.open().length > this.opts.maxConnections) {
      this.sendFrame(conn, { type: 'disconnect', reason: 'too_many_websockets', debug_info: this.debugInfo() });
      this.closeLater(conn, 0);
      return;
    }
    this.sendFrame(conn, {
      type: 'hello',
      num_connections: this.open().length,
      debug_info: { ...this.debugInfo(), build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: this.appId },
    });
    for (const wake of [...this.connectionWaiters]) wake();
  }

  private debugInfo() {
    return { host: 'applink-emulator' };
  }

  private onMessage(conn: Connection, text: string): void {
    let msg: { envelope_id?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(text) as { envelope_id?: unknown; payload?: unknown };
    } catch {
      return;
    }
    if (typeof msg.envelope_id !== 'string') return;
    const w = this.waiters.get(msg.envelope_id);
    if (!w) {
      const late = this.envelopes.find((e) => e.envelope_id === msg.envelope_id);
      if (late) late.late_ack = true;
      return;
    }
    clearTimeout(w.timer);
    this.waiters.delete(msg.envelope_id);
    w.record.acked = true;
    if (msg.payload !== undefined) w.record.ack_payload = msg.payload;
    w.resolve(msg.payload === undefined ? {} : { payload: msg.payload });
  }

  private onClose(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    // Envelopes in flight on a lost connection are never acked there: give up on them now.
    for (const [id, w] of this.waiters)
      if (w.connection === conn) {
        clearTimeout(w.timer);
        this.waiters.delete(id);
        w.resolve(undefined);
      }
  }

  private sendFrame(conn: Connection, frame: object): void {
    if (conn.ws.readyState === conn.ws.OPEN) conn.ws.send(JSON.stringify(frame));
  }

  private closeLater(conn: Connection, ms: number): void {
    this.timers.later(() => {
      if (!conn.closed) conn.ws.close(1000);
    }, ms);
  }

  /**
   * Sends a `disconnect` frame (to one connection or all). Clients open a new connection and leave;
   * for `refresh_requested` and `link_disabled` the emulator closes the socket after the grace period.
   */
  disconnect(reason: DisconnectReason, connectionId?: string): string[] {
    const targets = this.open().filter((c) => !connectionId || c.id === connectionId);
    for (const c of targets) {
      this.sendFrame(c, { type: 'disconnect', reason, debug_info: this.debugInfo() });
      if (reason !== 'warning') this.closeLater(c, this.opts.disconnectGraceMs);
    }
    return targets.map((c) => c.id);
  }

  /** Drops sockets without a close frame (what a network failure looks like). */
  drop(connectionId?: string): string[] {
    const targets = this.open().filter((c) => !connectionId || c.id === connectionId);
    for (const c of targets) {
      c.ws.terminate();
      this.onClose(c);
    }
    return targets.map((c) => c.id);
  }

  /** Turns Socket Mode off: connected clients are told `link_disabled`. */
  disable(): void {
    this.enabled = false;
    this.disconnect('link_disabled');
  }

  private waitForConnection(ms: number): Promise<Connection | undefined> {
    const pick = () => {
      const open = this.open();
      if (!open.length) return undefined;
      return open[this.rr++ % open.length];
    };
    const now = pick();
    if (now || ms <= 0 || this.timers.stopped) return Promise.resolve(now);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.connectionWaiters.delete(wake);
        resolve(pick());
      };
      const t = setTimeout(wake, ms);
      this.connectionWaiters.add(wake);
    });
  }

  /**
   * Delivers one payload as envelopes until acked. `retryDelaysMs` (events only) gives the
   * redelivery schedule; an attempt fails when no connection opens within the ack timeout,
   * the connection is lost, or no ack comes in time.
   */
  async deliver(input: {
    type: EnvelopeType;
    payload: unknown;
    acceptsResponsePayload: boolean;
    retryDelaysMs: number[];
    record: SlackDelivery;
  }): Promise<SlackDelivery> {
    const rec = input.record;
    let reason = '';
    for (let attempt = 0; attempt <= input.retryDelaysMs.length; attempt++) {
      if (attempt > 0 && !(await this.timers.sleep(input.retryDelaysMs[attempt - 1]!))) break;
      const started = Date.now();
      const a: DeliveryAttempt = {
        attempt,
        at: new Date(started).toISOString(),
        status: null,
        durationMs: 0,
        acked: false,
      };
      rec.attempts.push(a);
      const conn = await this.waitForConnection(this.opts.ackTimeoutMs);
      if (!conn) {
        a.error = 'no_connection';
        a.durationMs = Date.now() - started;
        reason = 'timeout';
        continue;
      }
      const envelopeId = randomUUID();
      const envelope: Record<string, unknown> = {
        envelope_id: envelopeId,
        payload: input.payload,
        type: input.type,
        accepts_response_payload: input.acceptsResponsePayload,
      };
      if (input.type === 'events_api') {
        envelope.retry_attempt = attempt;
        envelope.retry_reason = reason;
      }
      const er: EnvelopeRecord = {
        envelope_id: envelopeId,
        type: input.type,
        connection: conn.id,
        at: a.at,
        retry_attempt: attempt,
        retry_reason: reason,
        acked: false,
      };
      this.envelopes.push(er);
      if (this.envelopes.length > 2000) this.envelopes.splice(0, this.envelopes.length - 2000);
      a.envelope_id = envelopeId;
      a.connection = conn.id;
      const ack = await new Promise<{ payload?: unknown } | undefined>((resolve) => {
        const timer = setTimeout(() => {
          this.waiters.delete(envelopeId);
          resolve(undefined);
        }, this.opts.ackTimeoutMs);
        this.waiters.set(envelopeId, { resolve, timer, record: er, connection: conn });
        conn.sent++;
        this.sendFrame(conn, envelope);
      });
      a.durationMs = Date.now() - started;
      if (ack) {
        a.status = 200;
        // The ack frame is the whole answer: its latency is the ack latency.
        a.acked = true;
        a.latencyMs = a.durationMs;
        if (ack.payload !== undefined) a.responseBody = JSON.stringify(ack.payload);
        rec.delivered = true;
        if (ack.payload !== undefined) rec.response = ack.payload;
        return rec;
      }
      a.error = conn.closed ? 'connection_closed' : 'no_ack';
      reason = 'timeout';
    }
    this.opts.logger?.warn(`slack-emulator: ${input.type} envelope not acknowledged (${rec.id})`);
    return rec;
  }

  /** Forgets connections, tickets and envelopes (keeps the switch). */
  reset(): void {
    this.drop();
    this.tickets.clear();
    this.envelopes.length = 0;
  }

  async close(): Promise<void> {
    this.timers.stop();
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const wake of [...this.connectionWaiters]) wake();
    for (const [, w] of this.waiters) {
      clearTimeout(w.timer);
      w.resolve(undefined);
    }
    this.waiters.clear();
    for (const c of this.open()) c.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
