// One channel's socket over time: open, authenticate, classify closes, reconnect with backoff.
import { parseServerMessage, type ClientMessage, type ServerMessage } from "./protocol";
import type {
  ChannelError,
  ChannelErrorKind,
  HeartbeatOptions,
  ReconnectOptions,
  WebSocketConstructor,
  WebSocketLike,
} from "./types";

/** Closes that a retry cannot fix (docs/PROTOCOL.md, "Close codes"). Every other close is retried. */
const FINAL_CLOSES: ReadonlyMap<number, ChannelErrorKind> = new Map([
  [4001, "unauthorized"],
  [4002, "protocol_error"],
  [4003, "forbidden"],
  [4004, "not_found"],
  [4009, "message_too_big"],
  [4030, "revoked"],
]);

const NORMAL_CLOSURE = 1000;

/**
 * The delay before reconnect attempt number `failedAttempts` (0 for the first retry):
 * exponential, capped, and randomized downwards by up to `jitter` so that many
 * clients dropped at once (a server restart) do not come back in lockstep.
 */
export function reconnectDelay(failedAttempts: number, options: ReconnectOptions, random: () => number): number {
  const initialDelayMs = options.initialDelayMs ?? 250;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const factor = options.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const delay = Math.min(maxDelayMs, initialDelayMs * factor ** failedAttempts);
  return Math.round(delay * (1 - jitter * random()));
}

export interface ConnectionEvents {
  /** The first message on every new socket. */
  authMessage(): ClientMessage;
  /** A socket opened; the server's initial state follows. */
  opened(): void;
  message(message: ServerMessage): void;
  /** A socket closed without us asking. `error` is set when no reconnect will follow. */
  closed(error: ChannelError | null): void;
}

export interface ConnectionOptions {
  readonly resolveUrl: () => string;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly reconnect: ReconnectOptions;
  readonly heartbeat: HeartbeatOptions | false;
  readonly random: () => number;
}

export class Connection {
  private readonly options: ConnectionOptions;
  private readonly events: ConnectionEvents;
  private socket: WebSocketLike | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  /** Consecutive connections that ended before a `ready`; drives the backoff. */
  private failedAttempts = 0;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  /** When the current socket last received anything. */
  private lastHeardAt = 0;
  private finalError: ChannelError | null = null;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this.options = options;
    this.events = events;
  }

  /** Opens a socket unless one is open or a reconnect is already scheduled (which keeps its backoff). */
  open(): void {
    if (this.socket !== null || this.reconnectTimer !== null || this.finalError !== null) return;
    this.connect();
  }

  /** Closes the socket with 1000 and cancels a scheduled reconnect. `open()` may start again later. */
  disconnect(): void {
    if (this.reconnectTimer !== null) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    this.dropSocket();
  }

  /** Detaches and closes the current socket, if any. */
  private dropSocket(): void {
    this.stopHeartbeat();
    const socket = this.socket;
    if (socket === null) return;
    this.socket = null;
    // Detach first: nothing this socket still delivers may touch the state, and its
    // close event must not be mistaken for a drop that needs a reconnect.
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    socket.close(NORMAL_CLOSURE);
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const heartbeat = this.options.heartbeat;
    if (heartbeat === false) return;
    const intervalMs = heartbeat.intervalMs ?? 20_000;
    const timeoutMs = heartbeat.timeoutMs ?? 45_000;
    this.heartbeatTimer = setInterval(() => {
      if (Date.now() - this.lastHeardAt > timeoutMs) {
        // The server went silent: take the socket for dead and start over.
        this.dropSocket();
        this.scheduleReconnect();
        this.events.closed(null);
        return;
      }
      this.send({ type: "ping" });
    }, intervalMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === null) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  /**
   * Drops the socket and reconnects after a random delay in [0, `maintenanceSpreadMs`]:
   * the server announced maintenance, and its clients should not all arrive at the next
   * server at once.
   */
  reconnectForMaintenance(): void {
    if (this.finalError !== null) return;
    this.dropSocket();
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    const spread = this.options.reconnect.maintenanceSpreadMs ?? 5_000;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, Math.round(spread * this.options.random()));
    this.events.closed(null);
  }

  /** The server finished its initial state: the connection works, so the backoff starts over. */
  markReady(): void {
    this.failedAttempts = 0;
  }

  send(message: ClientMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  private connect(): void {
    let socket: WebSocketLike;
    try {
      const WebSocketImpl = this.options.WebSocket;
      if (WebSocketImpl === undefined) {
        throw new Error("no WebSocket implementation: pass options.WebSocket");
      }
      socket = new WebSocketImpl(this.options.resolveUrl());
    } catch (cause) {
      // A bad URL or a missing implementation fails the same way every time: do not retry.
      const reason = cause instanceof Error ? cause.message : String(cause);
      this.fail({ code: 0, reason, kind: "client_error" });
      return;
    }
    this.socket = socket;

    socket.onopen = () => {
      this.lastHeardAt = Date.now();
      this.startHeartbeat();
      this.events.opened();
      this.send(this.events.authMessage());
    };
    socket.onmessage = (event) => {
      this.lastHeardAt = Date.now();
      const message = parseServerMessage(event.data);
      if (message !== null) this.events.message(message);
    };
    // The close event that follows an error carries the code; nothing to do here.
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      this.socket = null;
      this.stopHeartbeat();
      const finalKind = FINAL_CLOSES.get(event.code);
      if (finalKind !== undefined) {
        this.fail({ code: event.code, reason: event.reason, kind: finalKind });
      } else {
        this.scheduleReconnect();
        this.events.closed(null);
      }
    };
  }

  private fail(error: ChannelError): void {
    this.finalError = error;
    this.events.closed(error);
  }

  private scheduleReconnect(): void {
    const delay = reconnectDelay(this.failedAttempts, this.options.reconnect, this.options.random);
    this.failedAttempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }
}
