// The typing indicator: on while the user types, off after a pause or a send.
import { useEffect, useMemo } from "react";
import type { RoomChannel } from "./generated/chat.channels";

/** How long after the last keystroke the indicator goes off. */
const PAUSE_MS = 3_000;

/**
 * Sends the indicator's latest value, one call at a time: calls on one
 * socket run concurrently on the server, so an on and an off sent together
 * (typed offline, both queued) could land in either order.
 */
export class TypingIndicator {
  private wanted = false;
  /** What the server holds, as far as this window knows. */
  private held = false;
  private inFlight = false;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly channel: RoomChannel) {}

  /** A keystroke: on now, off after a pause. */
  readonly typed = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(this.stopped, PAUSE_MS);
    this.want(true);
  };

  /** Sent, cleared or left: off now. */
  readonly stopped = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.want(false);
  };

  private want(typing: boolean): void {
    this.wanted = typing;
    this.sync();
  }

  private sync(): void {
    if (this.inFlight || this.wanted === this.held) return;
    const value = this.wanted;
    this.inFlight = true;
    this.channel.typing(value).then(
      () => {
        this.held = value;
      },
      () => {
        // Lost with its socket: a new connection starts not typing.
        this.held = false;
      },
    ).finally(() => {
      this.inFlight = false;
      this.sync();
    });
  }
}

export function useTyping(channel: RoomChannel): TypingIndicator {
  const indicator = useMemo(() => new TypingIndicator(channel), [channel]);
  useEffect(() => indicator.stopped, [indicator]);
  return indicator;
}
