// Action calls: ids, the calls waiting for a socket, and the calls waiting for a reply.
import type { ClientMessage } from "./protocol";

/**
 * A rejected action call: the server's `{code, message, details}`, or a client-side code.
 *
 * `D` is the type of `details` for an action declared with `#[action(details = T)]`;
 * the generated `<Channel><Action>Error` alias names it. The server vouches for the
 * shape when it sends details; client-side errors carry none.
 */
export class ActionError<D = Readonly<Record<string, unknown>>> extends Error {
  /**
   * The server's code (`unknown_action`, `bad_arguments`, `internal`, or the app's own),
   * or, from the client: `not_connected` (no subscriber, so no socket), `disconnected`
   * (the socket closed before the answer: the action may or may not have run) and
   * `closed` (the channel was closed or cannot reconnect).
   */
  readonly code: string;
  readonly details: D | undefined;

  constructor(code: string, message: string, details?: D) {
    super(message);
    this.name = "ActionError";
    this.code = code;
    this.details = details;
  }
}

interface PendingCall {
  readonly message: ClientMessage;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: ActionError) => void;
  sent: boolean;
}

/** The calls of one channel. Ids are per channel, so they stay unique across reconnects. */
export class CallTracker {
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();

  /** Registers a call; it is sent now when `send` is given, else when the socket is ready. */
  start(action: string, args: readonly unknown[], send: ((message: ClientMessage) => void) | null): Promise<unknown> {
    return this.startMessage((id) => ({ type: "call", id, action, args }), send);
  }

  /** Registers any message answered by a `reply` (a call or a write), built with its id. */
  startMessage(build: (id: number) => ClientMessage, send: ((message: ClientMessage) => void) | null): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const call: PendingCall = { message: build(id), resolve, reject, sent: false };
      this.calls.set(id, call);
      if (send !== null) {
        send(call.message);
        call.sent = true;
      }
    });
  }

  /** The socket is ready: send every call that waited for it. */
  flush(send: (message: ClientMessage) => void): void {
    for (const call of this.calls.values()) {
      if (call.sent) continue;
      send(call.message);
      call.sent = true;
    }
  }

  /** A reply arrived. Unknown ids (a reply to a call already failed) are ignored. */
  settle(id: number, outcome: { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ActionError }): void {
    const call = this.calls.get(id);
    if (call === undefined) return;
    this.calls.delete(id);
    if (outcome.ok) call.resolve(outcome.result);
    else call.reject(outcome.error);
  }

  /**
   * The socket closed. Sent calls fail with `disconnected` (their outcome is unknown);
   * unsent ones wait for the next socket, unless `final`, when every call fails.
   */
  disconnected(final: boolean): void {
    for (const [id, call] of this.calls) {
      if (call.sent) {
        call.reject(new ActionError("disconnected", "the connection closed before the server answered; the action may or may not have run"));
      } else if (final) {
        call.reject(new ActionError("closed", "the channel closed before the call could be sent"));
      } else {
        continue;
      }
      this.calls.delete(id);
    }
  }
}
