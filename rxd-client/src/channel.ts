// A channel view: the store of one anchor's state (or a list of anchors'), kept in sync over a lazily opened socket.
import { ActionError, CallTracker } from "./actions";
import { Connection } from "./connection";
import type { ServerMessage, WriteRequest } from "./protocol";
import { StateStore } from "./store";
import type {
  ChannelModel,
  ChannelOptions,
  ChannelSnapshot,
  Key,
  SystemMessage,
  WebSocketConstructor,
} from "./types";

/**
 * The base class of the generated channel classes (`class BoardChannel extends ContextChannel<Board>`).
 *
 * It follows the `useSyncExternalStore` contract: `subscribe(listener)` returns an
 * unsubscribe function and `getSnapshot()` returns the same object until something
 * changed. Both are bound, so they can be passed around as plain functions.
 *
 * The socket opens when the first listener subscribes and closes shortly after the
 * last one leaves; creating a channel costs nothing, so it can live in `useMemo`.
 */
export class ContextChannel<S, R = null> {
  /** The channel's route with its parameters filled in, e.g. `/ws/boards/1`. */
  readonly path: string;
  private readonly token: string;
  private readonly options: ChannelOptions;
  private readonly store: StateStore<S>;
  private readonly connection: Connection;
  /** One entry per `subscribe` call, so that subscribing the same function twice counts twice. */
  private readonly subscriptions = new Set<{ readonly listener: () => void }>();
  private snapshot: ChannelSnapshot<S, R> = { state: null, runtime: null, connected: false, error: null };
  private disconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private closedForGood = false;
  private readonly calls = new CallTracker();
  private readonly systemListeners = new Set<{ readonly listener: (message: SystemMessage) => void }>();
  private lastSystemMessage: SystemMessage | null = null;

  constructor(path: string, token: string, model: ChannelModel, options: ChannelOptions = {}) {
    this.path = path;
    this.token = token;
    this.options = options;
    this.store = new StateStore<S>(model);
    this.store.setWriter(this.write);
    this.connection = new Connection(
      {
        resolveUrl: () => channelUrl(path, options.baseUrl),
        WebSocket: options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket,
        reconnect: options.reconnect ?? {},
        heartbeat: options.heartbeat ?? {},
        random: options.random ?? Math.random,
      },
      {
        authMessage: () => {
          const lastVersion = this.store.resumeVersion;
          return lastVersion === null
            ? { type: "auth", token: this.token }
            : { type: "auth", token: this.token, last_version: lastVersion };
        },
        opened: () => {
          this.store.beginSnapshot();
        },
        message: (message) => {
          this.handleMessage(message);
        },
        closed: (error) => {
          this.calls.disconnected(error !== null);
          this.update({ connected: false, error: error ?? this.snapshot.error });
        },
      },
    );
  }

  /** Registers a listener, called after every change; opens the socket for the first one. */
  readonly subscribe = (listener: () => void): (() => void) => {
    const subscription = { listener };
    this.subscriptions.add(subscription);
    if (this.disconnectTimer !== null) {
      // A remount right after an unmount (React StrictMode) keeps the same socket.
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = null;
    }
    if (!this.closedForGood) this.connection.open();

    return () => {
      if (!this.subscriptions.delete(subscription)) return;
      if (this.subscriptions.size === 0 && !this.closedForGood) this.scheduleDisconnect();
    };
  };

  readonly getSnapshot = (): ChannelSnapshot<S, R> => this.snapshot;

  /**
   * Registers a listener for system messages (`info`, `warning`, `maintenance`); returns
   * the function that removes it. Listening does not open the socket: `subscribe` does.
   */
  readonly onSystemMessage = (listener: (message: SystemMessage) => void): (() => void) => {
    const entry = { listener };
    this.systemListeners.add(entry);
    return () => {
      this.systemListeners.delete(entry);
    };
  };

  /** The last system message this channel received, or null; kept across reconnects. */
  readonly getSystemMessage = (): SystemMessage | null => this.lastSystemMessage;

  /**
   * The nested object of one instance, the very object that appears inside `state`
   * (same identity), or null when the channel does not hold that instance.
   * `T` is the generated interface of `type`; the caller vouches for it.
   */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- T names the caller's type of the instance
  getInstance<T>(type: string, key: Key): T | null {
    return this.store.getInstance(type, key) as T | null;
  }

  /**
   * Calls an action; the generated classes wrap this in one typed method per action.
   * Resolves with the action's value, rejects with an {@link ActionError}. A call made
   * while the socket (re)connects is sent once the state is ready; a call needs a
   * subscriber, since without one there is no socket.
   */
  protected call<T>(action: string, args: readonly unknown[]): Promise<T> {
    if (this.closedForGood || this.snapshot.error !== null) {
      return Promise.reject(new ActionError("closed", "the channel is closed"));
    }
    if (this.subscriptions.size === 0) {
      return Promise.reject(new ActionError("not_connected", "subscribe to the channel (useChannelState) before calling its actions"));
    }
    const send = this.snapshot.connected ? this.sendMessage : null;
    return this.calls.start(action, args, send) as Promise<T>;
  }

  /**
   * A browser write (`card.save(patch)`, `card.delete()`, `column.cards.create(data)`):
   * shown at once, then confirmed by the server's delta or rolled back to the server's
   * latest value when it is rejected (the promise then rejects with the {@link ActionError}).
   */
  private readonly write = (request: WriteRequest): Promise<unknown> => {
    if (this.closedForGood || this.snapshot.error !== null) {
      return Promise.reject(new ActionError("closed", "the channel is closed"));
    }
    if (this.subscriptions.size === 0) {
      return Promise.reject(new ActionError("not_connected", "subscribe to the channel (useChannelState) before writing"));
    }
    const token = this.store.addWrite(request);
    this.update({ state: this.store.state }, true);
    const settle = (): void => {
      this.store.dropWrite(token);
      this.update({ state: this.store.state }, true);
    };
    const send = this.snapshot.connected ? this.sendMessage : null;
    return this.calls.startMessage((id) => ({ type: "write", id, ...request }), send).then(
      (result) => {
        settle();
        return result;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
  };

  private readonly sendMessage = (message: Parameters<Connection["send"]>[0]): void => {
    this.connection.send(message);
  };

  /** Closes the socket and stops for good: no reconnect, and later subscribers do not reopen it. */
  close(): void {
    this.closedForGood = true;
    this.calls.disconnected(true);
    if (this.disconnectTimer !== null) {
      clearTimeout(this.disconnectTimer);
      this.disconnectTimer = null;
    }
    this.connection.disconnect();
    this.update({ connected: false });
  }

  private scheduleDisconnect(): void {
    // Deferred so that an unmount immediately followed by a mount reuses the socket.
    this.disconnectTimer = setTimeout(() => {
      this.disconnectTimer = null;
      if (this.subscriptions.size > 0) return;
      this.connection.disconnect();
      this.calls.disconnected(true);
      this.update({ connected: false });
    }, 0);
  }

  private handleMessage(message: ServerMessage): void {
    switch (message.type) {
      case "resume":
        this.store.beginResume(message.deleted);
        return;
      case "instances":
        this.store.receiveInstances(message.instances);
        return;
      case "ready":
        // A `ready` of the other kind (a list for a single-anchor model, or back) does not fit; ignore it.
        if (!this.store.completeSnapshot(message.v, "anchors" in message ? message.anchors : message.anchor)) return;
        this.connection.markReady();
        this.update({ state: this.store.state, connected: true, error: null }, true);
        this.calls.flush(this.sendMessage);
        return;
      case "anchors":
        if (this.store.applyAnchors(message.anchors, message.instances)) {
          this.update({ state: this.store.state }, true);
        }
        return;
      case "delta":
        if (this.store.applyDelta(message.v, message.instances, message.deleted)) {
          this.update({ state: this.store.state }, true);
        }
        return;
      case "error":
        this.options.onError?.(message.error);
        return;
      case "reply":
        this.calls.settle(
          message.id,
          message.ok
            ? { ok: true, result: message.result }
            : { ok: false, error: new ActionError(message.error.code, message.error.message, message.error.details) },
        );
        return;
      case "runtime":
        // The server vouches for the shape: it is the channel's declared runtime type.
        this.update({ runtime: message.state as R });
        return;
      case "system": {
        const system: SystemMessage = { level: message.level, message: message.message };
        this.lastSystemMessage = system;
        this.options.onSystemMessage?.(system);
        for (const { listener } of [...this.systemListeners]) listener(system);
        if (system.level === "maintenance") this.connection.reconnectForMaintenance();
        return;
      }
      case "pong":
        return;
    }
  }

  /**
   * Replaces the snapshot when one of its fields changed, then notifies listeners.
   * `storeChanged` notifies even when the snapshot stayed the same: an instance that
   * `getInstance` reads may have changed without being reachable from the anchor.
   */
  private update(changes: Partial<ChannelSnapshot<S, R>>, storeChanged = false): void {
    const next: ChannelSnapshot<S, R> = { ...this.snapshot, ...changes };
    const snapshotChanged =
      next.state !== this.snapshot.state ||
      next.runtime !== this.snapshot.runtime ||
      next.connected !== this.snapshot.connected ||
      next.error !== this.snapshot.error;
    if (snapshotChanged) this.snapshot = next;
    if (snapshotChanged || storeChanged) {
      for (const { listener } of [...this.subscriptions]) listener();
    }
  }
}

/** The socket URL of a channel path: `baseUrl` (or the page's host) followed by the path. */
export function channelUrl(path: string, baseUrl: string | undefined): string {
  const base = baseUrl ?? defaultBaseUrl();
  if (base === null) {
    throw new Error("no baseUrl given and no globalThis.location to derive it from");
  }
  return base.replace(/^http(s?):/i, "ws$1:").replace(/\/+$/, "") + path;
}

function defaultBaseUrl(): string | null {
  const location = (globalThis as { location?: { protocol: string; host: string } }).location;
  if (location === undefined || location.host === "") return null;
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
}
