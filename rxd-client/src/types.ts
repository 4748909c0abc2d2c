/** A key of an instance: the value of its type's key field (`id` unless the model says otherwise). */
export type Key = number | string;

/**
 * One flat instance as the server sends it: the plain fields of one layer value,
 * relation fields replaced by keys, plus `_type` and `_v` (docs/PROTOCOL.md, "Flat instances").
 */
export interface FlatInstance {
  readonly _type: string;
  readonly _v: number;
  readonly [field: string]: unknown;
}

/** Names one instance: `{"_type": "Card", "key": 9}` in `ready.anchor`, `anchors` lists and `delta.deleted`. */
export interface InstanceRef {
  readonly _type: string;
  readonly key: Key;
}

/** How a relation field of a flat instance refers to its targets. */
export interface RelationModel {
  /** The `_type` of the instances the field refers to. */
  readonly type: string;
  /** `many`: a list of keys; `one`: a key; `optional`: a key or `null`. */
  readonly cardinality: "many" | "one" | "optional";
}

export interface TypeModel {
  /** The field that holds the instance's key. */
  readonly key: string;
  /** Every relation field of the type, by field name. All other fields are plain values. */
  readonly relations: Readonly<Record<string, RelationModel>>;
}

/** What the browser may write of one type through a channel (`writable(...)` in Rust). */
export interface WriteModel {
  readonly save: boolean;
  readonly create: boolean;
  readonly delete: boolean;
  /** Where a new or moved instance belongs: the parent's type, the field holding its key, and its relation field. */
  readonly parent: { readonly type: string; readonly field: string; readonly relation: string } | null;
}

/** The model of one channel's state tree, emitted by `cargo xtask makefrontend`. */
export interface ChannelModel {
  /** The `_type` of the root instance (of every listed root, for a list channel). */
  readonly anchor: string;
  /**
   * True for a list channel: the state is an array of anchors (`Task[]`) rather than one,
   * in the order the server lists them (`ready.anchors`, then `anchors` messages). Absent
   * or false for a single-anchor channel.
   */
  readonly list?: boolean;
  readonly types: Readonly<Record<string, TypeModel>>;
  /** The types the browser may write, by `_type`; absent when the channel declares no writes. */
  readonly writes?: Readonly<Record<string, WriteModel>>;
}

/**
 * A relation list whose type the browser may create (`column.cards.create({title})`): the
 * new instance shows at once and is confirmed or rolled back by the server. Resolves with
 * the new instance's key.
 */
export type WritableList<T, D> = T[] & { create(data: D): Promise<Key> };

/** WebSocket close codes of docs/PROTOCOL.md, plus the ones a browser reports by itself. */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  /** Reported by the WebSocket implementation when the connection dropped without a close frame. */
  Abnormal: 1006,
  Unauthorized: 4001,
  ProtocolError: 4002,
  Forbidden: 4003,
  NotFound: 4004,
  TooSlow: 4008,
  MessageTooBig: 4009,
  Timeout: 4010,
  ServerError: 4011,
  TooManyConnections: 4029,
  Revoked: 4030,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

export type ChannelErrorKind =
  | "unauthorized"
  | "protocol_error"
  | "forbidden"
  | "not_found"
  | "message_too_big"
  | "revoked"
  /** The client could not even try: no base URL, or the WebSocket constructor threw. */
  | "client_error";

/** Why a channel stopped for good. Set only by closes that are not retried. */
export interface ChannelError {
  /** The WebSocket close code, or 0 for `client_error`. */
  readonly code: number;
  /** The server's close reason, for humans only. */
  readonly reason: string;
  readonly kind: ChannelErrorKind;
}

/** An `{"type": "error"}` message: the server rejected one message but kept the socket open. */
export interface ServerError {
  readonly code: string;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** How a client treats a system message: `maintenance` makes it reconnect (docs/PROTOCOL.md). */
export type SystemLevel = "info" | "warning" | "maintenance";

/** A message from the server's operators to every client (`{"type": "system"}`). */
export interface SystemMessage {
  readonly level: SystemLevel;
  readonly message: string;
}

/** What `getSnapshot()` returns; replaced (never mutated) whenever one of its fields changes. */
export interface ChannelSnapshot<S, R = null> {
  readonly state: S | null;
  /**
   * The connection's runtime state (`#[rxd::channel(runtime = R)]`): values the server
   * sets for this connection alone. Null until the server sent it; it starts over with
   * every new connection.
   */
  readonly runtime: R | null;
  /** True between the `ready` of a connection and its close. */
  readonly connected: boolean;
  readonly error: ChannelError | null;
}

/**
 * A handler type that TypeScript checks bivariantly, so that the DOM `WebSocket`
 * (whose handlers take `MessageEvent`/`CloseEvent`) and Node's `ws` both fit
 * `WebSocketLike`, which only relies on the few fields named here.
 */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ readonly data: unknown }> | null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> | null;
  onerror: Handler<unknown> | null;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** Delay before the first retry. Default 250 ms. */
  readonly initialDelayMs?: number;
  /** Upper bound of any delay. Default 10 000 ms. */
  readonly maxDelayMs?: number;
  /** Growth of the delay per failed attempt. Default 2. */
  readonly factor?: number;
  /** Fraction of the delay that is random, 0..1: the delay lies in [d·(1−jitter), d]. Default 0.5. */
  readonly jitter?: number;
  /**
   * After a `maintenance` system message the client drops its socket and reconnects after a
   * random delay in [0, maintenanceSpreadMs], so that the clients of a server going down
   * do not all arrive at the next one at once. Default 5 000 ms.
   */
  readonly maintenanceSpreadMs?: number;
}

/**
 * The client's side of heartbeats: it pings the server every `intervalMs`, and a server
 * that sends nothing for `timeoutMs` is taken for dead: the socket is dropped and the
 * client reconnects with backoff. (Browsers answer the server's own ping frames by
 * themselves; this catches the other direction.)
 */
export interface HeartbeatOptions {
  /** Default 20 000 ms. */
  readonly intervalMs?: number;
  /** Default 45 000 ms. */
  readonly timeoutMs?: number;
}

export interface ChannelOptions {
  /**
   * `ws://host:port` or `wss://host` (an `http(s)://` URL is converted), optionally with a path prefix.
   * Default: the page's own host, `wss:` for an `https:` page, else `ws:`.
   */
  readonly baseUrl?: string;
  /** The WebSocket implementation. Default `globalThis.WebSocket`. */
  readonly WebSocket?: WebSocketConstructor;
  readonly reconnect?: ReconnectOptions;
  /** Heartbeat timing, or `false` to send none. */
  readonly heartbeat?: HeartbeatOptions | false;
  /** Source of randomness for the backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Called for every `{"type": "error"}` message; the state and the socket are unaffected. */
  readonly onError?: (error: ServerError) => void;
  /** Called for every system message, before a `maintenance` one makes the client reconnect. */
  readonly onSystemMessage?: (message: SystemMessage) => void;
}
