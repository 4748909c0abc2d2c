// The messages a room's window shows: what the channel's state holds, the
// older pages fetched with `history`, and this window's own messages until
// the server has them. Framework-agnostic, read by React through
// `useSyncExternalStore` (see `useChatLog`).
import { ActionError } from "rxd-client";
import type { RoomChannel, RoomChannelSendError } from "./generated/chat.channels";
import type { Message, User } from "./generated/chat.interfaces";

/** A message as the window shows it. */
export interface ShownMessage {
  /** The client id: stable from the first keystroke to the stored message. */
  readonly key: string;
  readonly author: User | null;
  readonly body: string;
  readonly sentAt: number;
  /** `sending` until the server stored it; `failed` with a reason it refused. */
  readonly status: "sent" | "sending" | "failed";
  readonly error: string | null;
}

export interface ChatSnapshot {
  readonly messages: readonly ShownMessage[];
  /** `done` once `history` answered an empty page: the room's beginning. */
  readonly older: "more" | "loading" | "done";
}

interface Pending {
  readonly clientId: string;
  readonly body: string;
  readonly createdAt: number;
  status: "sending" | "failed";
  error: string | null;
}

/** How long to wait before sending again a message whose socket closed. */
const RESEND_DELAY_MS = 250;

export class ChatLog {
  /**
   * Every stored message this window has seen, by id. The room's state keeps
   * only its latest messages: one that leaves it stays here (the chat never
   * deletes messages, so leaving the state only means leaving the window).
   */
  private readonly seen = new Map<number, Message>();
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<() => void>();
  private older: ChatSnapshot["older"] = "more";
  private snapshot: ChatSnapshot = { messages: [], older: "more" };
  private stateMessages: readonly Message[] | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly channel: RoomChannel,
    private readonly newClientId: () => string = () => crypto.randomUUID(),
  ) {}

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.unsubscribe === null) {
      this.unsubscribe = this.channel.subscribe(this.channelChanged);
      this.channelChanged();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.unsubscribe !== null) {
        this.unsubscribe();
        this.unsubscribe = null;
      }
    };
  };

  readonly getSnapshot = (): ChatSnapshot => this.snapshot;

  /** Shows the message at once and sends it until the server answers. */
  send(body: string): void {
    const trimmed = body.trim();
    if (trimmed === "") return;
    const pending: Pending = { clientId: this.newClientId(), body: trimmed, createdAt: Date.now(), status: "sending", error: null };
    this.pending.set(pending.clientId, pending);
    this.rebuild();
    void this.deliver(pending);
  }

  /** Sends a failed message again, under the same client id. */
  retry(clientId: string): void {
    const pending = this.pending.get(clientId);
    if (pending?.status !== "failed") return;
    pending.status = "sending";
    pending.error = null;
    this.rebuild();
    void this.deliver(pending);
  }

  /** Fetches the page before the oldest message shown. */
  async loadOlder(): Promise<void> {
    if (this.older !== "more") return;
    const oldest = Math.min(...this.seen.keys());
    if (!Number.isFinite(oldest)) return;
    this.setOlder("loading");
    try {
      const page = await this.channel.history(oldest, 50);
      for (const message of page) this.seen.set(message.id, message);
      this.setOlder(page.length === 0 ? "done" : "more");
    } catch {
      this.setOlder("more");
    }
  }

  private setOlder(older: ChatSnapshot["older"]): void {
    this.older = older;
    this.rebuild();
  }

  /**
   * Sends until the server answers. A call whose socket closed may or may
   * not have run: the same client id makes sending it again safe, and the
   * channel holds the call until it has a socket again (and rejects it
   * with `closed` once it never will).
   */
  private async deliver(pending: Pending): Promise<void> {
    for (;;) {
      try {
        const stored = await this.channel.send(pending.clientId, pending.body);
        this.seen.set(stored.id, stored);
        this.pending.delete(pending.clientId);
      } catch (thrown) {
        if (thrown instanceof ActionError && thrown.code === "disconnected") {
          await new Promise((resolve) => setTimeout(resolve, RESEND_DELAY_MS));
          continue;
        }
        pending.status = "failed";
        pending.error = reason(thrown);
      }
      this.rebuild();
      return;
    }
  }

  private readonly channelChanged = (): void => {
    const messages = this.channel.getSnapshot().state?.messages ?? null;
    if (messages === null || messages === this.stateMessages) return;
    this.stateMessages = messages;
    for (const message of messages) this.seen.set(message.id, message);
    this.rebuild();
  };

  private rebuild(): void {
    const stored = [...this.seen.values()].sort((a, b) => a.id - b.id);
    const storedIds = new Set(stored.map((m) => m.client_id));
    const shown: ShownMessage[] = stored.map((m) => ({
      key: m.client_id,
      author: m.author,
      body: m.body,
      sentAt: m.sent_at,
      status: "sent",
      error: null,
    }));
    for (const pending of this.pending.values()) {
      // The delta with the stored message comes before the reply.
      if (storedIds.has(pending.clientId)) {
        this.pending.delete(pending.clientId);
        continue;
      }
      shown.push({
        key: pending.clientId,
        author: null,
        body: pending.body,
        sentAt: pending.createdAt,
        status: pending.status,
        error: pending.error,
      });
    }
    this.snapshot = { messages: shown, older: this.older };
    for (const listener of this.listeners) listener();
  }
}

function reason(thrown: unknown): string {
  if (thrown instanceof ActionError) {
    const error = thrown as RoomChannelSendError;
    if (error.code === "rate_limited" && error.details !== undefined) {
      return `slow down: try again in ${String(Math.ceil(error.details.retry_after_ms / 1000))} s`;
    }
    return error.message;
  }
  return "could not send";
}
