// An in-memory WebSocket for tests: the test plays the server.
import type { WebSocketConstructor, WebSocketLike } from "../src/index";

type Handler<E> = ((event: E) => void) | null;

export class FakeSocket implements WebSocketLike {
  readyState = 0; // CONNECTING
  /** Every message the client sent, parsed. */
  readonly sent: unknown[] = [];
  /** The arguments of `close()` when the client closed the socket. */
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;

  onopen: Handler<unknown> = null;
  onmessage: Handler<{ readonly data: unknown }> = null;
  onclose: Handler<{ readonly code: number; readonly reason: string }> = null;
  onerror: Handler<unknown> = null;

  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error(`send on a socket in state ${String(this.readyState)}`);
    this.sent.push(JSON.parse(data));
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
    this.readyState = 3;
  }

  // --- the server side ---

  get isOpen(): boolean {
    return this.readyState === 1;
  }

  accept(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  deliver(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }

  deliverRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The server (or the network, with 1006) ends the connection. */
  drop(code: number, reason = ""): void {
    this.readyState = 3;
    this.onerror?.({});
    this.onclose?.({ code, reason });
  }
}

/** A fresh WebSocket class per test, recording the sockets it created. */
export function fakeWebSocketServer(): { WebSocket: WebSocketConstructor; sockets: FakeSocket[]; last: () => FakeSocket } {
  const sockets: FakeSocket[] = [];
  class RecordingSocket extends FakeSocket {
    constructor(url: string) {
      super(url);
      sockets.push(this);
    }
  }
  return {
    WebSocket: RecordingSocket,
    sockets,
    last: () => {
      const socket = sockets.at(-1);
      if (socket === undefined) throw new Error("no socket was created");
      return socket;
    },
  };
}
