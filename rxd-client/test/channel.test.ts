import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CloseCode, type ChannelOptions, type FlatInstance, type ServerError, type WebSocketConstructor } from "../src/index";
import { channelUrl } from "../src/channel";
import { reconnectDelay } from "../src/connection";
import { BoardChannel, READY_41, board, card, column, initialInstances, user } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

const noop = (): void => undefined;

function setup(options: Partial<ChannelOptions> = {}) {
  const server = fakeWebSocketServer();
  const channel = new BoardChannel(1, "d3m0-t0k3n", {
    baseUrl: "ws://rxd.test",
    WebSocket: server.WebSocket,
    random: () => 0.5,
    ...options,
  });
  return { server, channel };
}

/** Accepts the socket and sends the initial state of ./board. */
function serveInitialState(socket: FakeSocket, instances: FlatInstance[] = initialInstances(), ready: object = READY_41): void {
  socket.accept();
  socket.deliver({ type: "instances", instances });
  socket.deliver(ready);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("connecting", () => {
  it("opens no socket until the first subscriber, then exactly one", () => {
    const { server, channel } = setup();
    expect(server.sockets).toHaveLength(0);
    channel.subscribe(noop);
    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(1);
    expect(server.last().url).toBe("ws://rxd.test/ws/boards/1");
  });

  it("authenticates with the first message", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    server.last().accept();
    expect(server.last().sent).toEqual([{ type: "auth", token: "d3m0-t0k3n" }]);
  });

  it("builds the state at ready and reports connected until the close", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    const socket = server.last();
    socket.accept();
    socket.deliver({ type: "instances", instances: initialInstances().slice(0, 4) });
    socket.deliver({ type: "instances", instances: initialInstances().slice(4) });
    expect(channel.getSnapshot()).toEqual({ state: null, runtime: null, connected: false, error: null });

    socket.deliver(READY_41);
    const snapshot = channel.getSnapshot();
    expect(snapshot.connected).toBe(true);
    expect(snapshot.state?.owner.name).toBe("Ada");
    expect(snapshot.state?.columns.map((c) => c.cards.length)).toEqual([2, 1]);

    socket.drop(CloseCode.GoingAway);
    expect(channel.getSnapshot().connected).toBe(false);
    expect(channel.getSnapshot().state).toBe(snapshot.state); // the last state stays readable
    expect(channel.getSnapshot().error).toBeNull();
  });

  it("returns the same snapshot until something changes, and notifies on change", () => {
    const { server, channel } = setup();
    const listener = vi.fn();
    channel.subscribe(listener);
    const initial = channel.getSnapshot();
    expect(channel.getSnapshot()).toBe(initial);
    serveInitialState(server.last());
    const ready = channel.getSnapshot();
    expect(ready).not.toBe(initial);
    expect(channel.getSnapshot()).toBe(ready);
    const calls = listener.mock.calls.length;

    server.last().deliver({ type: "delta", v: 41, instances: [card(11, 41, 3, null, "stale")], deleted: [] });
    server.last().deliver({ type: "pong" });
    expect(channel.getSnapshot()).toBe(ready);
    expect(listener).toHaveBeenCalledTimes(calls);

    server.last().deliver({ type: "delta", v: 42, instances: [card(11, 42, 3, null, "new")], deleted: [] });
    expect(channel.getSnapshot()).not.toBe(ready);
    expect(channel.getSnapshot().state?.columns[0]?.cards[1]?.title).toBe("new");
    expect(listener).toHaveBeenCalledTimes(calls + 1);
  });

  it("accepts the DOM WebSocket class as options.WebSocket (checked by tsc)", () => {
    type DomWebSocketFits = typeof WebSocket extends WebSocketConstructor ? true : false;
    const fits: DomWebSocketFits = true;
    expect(fits).toBe(true);
  });

  it("derives the URL from the page location", () => {
    vi.stubGlobal("location", { protocol: "https:", host: "app.example:8443" });
    expect(channelUrl("/ws/boards/1", undefined)).toBe("wss://app.example:8443/ws/boards/1");
    vi.stubGlobal("location", { protocol: "http:", host: "localhost:5173" });
    expect(channelUrl("/ws/boards/1", undefined)).toBe("ws://localhost:5173/ws/boards/1");
    expect(channelUrl("/ws/boards/1", "https://api.example/prefix/")).toBe("wss://api.example/prefix/ws/boards/1");
    expect(channelUrl("/ws/boards/1", "http://127.0.0.1:3000")).toBe("ws://127.0.0.1:3000/ws/boards/1");
  });

  it("encodes route parameters in the generated constructor", () => {
    const { server, channel } = setup();
    expect(channel.path).toBe("/ws/boards/1");
    const other = new BoardChannel(Number.NaN, "t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket });
    expect(other.path).toBe("/ws/boards/NaN");
  });

  it("reports a client error, without retrying, when there is nothing to connect with", () => {
    vi.stubGlobal("location", undefined);
    const server = fakeWebSocketServer();
    const channel = new BoardChannel(1, "t", { WebSocket: server.WebSocket });
    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(0);
    expect(channel.getSnapshot().error).toMatchObject({ code: 0, kind: "client_error" });

    vi.stubGlobal("WebSocket", undefined);
    const withoutImpl = new BoardChannel(1, "t", { baseUrl: "ws://rxd.test" });
    withoutImpl.subscribe(noop);
    expect(withoutImpl.getSnapshot().error?.kind).toBe("client_error");
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(0);
  });
});

describe("subscribers and the socket's lifetime", () => {
  it("keeps one open socket across subscribe, unsubscribe, subscribe (React StrictMode)", () => {
    const { server, channel } = setup();
    const unsubscribe = channel.subscribe(noop);
    unsubscribe();
    channel.subscribe(noop);
    vi.runAllTimers();
    expect(server.sockets).toHaveLength(1);
    expect(server.last().closedByClient).toBeNull();
  });

  it("closes the socket with 1000 shortly after the last subscriber leaves, without reconnecting", () => {
    // runAllTimers would also run the heartbeat; this test is about the deferred close.
    const { server, channel } = setup({ heartbeat: false });
    const first = channel.subscribe(noop);
    const second = channel.subscribe(noop);
    serveInitialState(server.last());
    first();
    vi.runAllTimers();
    expect(server.last().closedByClient).toBeNull();

    second();
    second(); // a second call is harmless
    expect(server.last().closedByClient).toBeNull(); // deferred
    vi.runAllTimers();
    expect(server.last().closedByClient).toEqual({ code: 1000, reason: undefined });
    expect(channel.getSnapshot().connected).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(1);
  });

  it("counts the same listener subscribed twice as two subscriptions", () => {
    const { server, channel } = setup();
    const first = channel.subscribe(noop);
    channel.subscribe(noop);
    first();
    vi.runAllTimers();
    expect(server.last().closedByClient).toBeNull();
  });

  it("reconnects on a new subscriber, asks to resume and accepts a full state", () => {
    const { server, channel } = setup();
    const unsubscribe = channel.subscribe(noop);
    serveInitialState(server.last());
    server.last().deliver({ type: "delta", v: 44, instances: [card(11, 44, 3, null, "x")], deleted: [] });
    unsubscribe();
    vi.runAllTimers();

    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(2);
    const socket = server.last();
    socket.accept();
    expect(socket.sent).toEqual([{ type: "auth", token: "d3m0-t0k3n", last_version: 44 }]);
    serveInitialState(socket, [board(50, [4]), column(4, 13, [12]), card(12, 22, 4, 8), user(7, 2, "Ada"), user(8, 3, "Grace")], {
      ...READY_41,
      v: 50,
    });
    expect(channel.getSnapshot().connected).toBe(true);
    expect(channel.getSnapshot().state?.columns.map((c) => c.id)).toEqual([4]);
  });

  it("drops messages of a socket it already closed", () => {
    const { server, channel } = setup();
    const unsubscribe = channel.subscribe(noop);
    const socket = server.last();
    serveInitialState(socket);
    const state = channel.getSnapshot().state;
    unsubscribe();
    vi.runAllTimers();
    socket.deliver({ type: "delta", v: 99, instances: [card(11, 99, 3, null, "late")], deleted: [] });
    socket.drop(CloseCode.Abnormal);
    expect(channel.getSnapshot().state).toBe(state);
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(1);
  });
});

describe("reconnecting", () => {
  it("computes exponential delays with jitter, capped", () => {
    const options = { initialDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.5 };
    expect(reconnectDelay(0, options, () => 0)).toBe(250);
    expect(reconnectDelay(0, options, () => 1)).toBe(125);
    expect(reconnectDelay(3, options, () => 0.5)).toBe(1500);
    expect(reconnectDelay(20, options, () => 0)).toBe(10_000);
    expect(reconnectDelay(2, {}, () => 0)).toBe(1000); // the defaults
    expect(reconnectDelay(2, { jitter: 0 }, () => 0.9)).toBe(1000);
  });

  it("backs off exponentially and starts over after a ready", () => {
    // random 0.5 with jitter 0.5 takes a quarter off: 188 ms (rounded), 375 ms, 750 ms, ...
    const { server, channel } = setup();
    channel.subscribe(noop);
    server.last().drop(CloseCode.Abnormal);

    const expectReconnectAfter = (delayMs: number) => {
      const count = server.sockets.length;
      vi.advanceTimersByTime(delayMs - 1);
      expect(server.sockets).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(server.sockets).toHaveLength(count + 1);
    };
    expectReconnectAfter(188);
    server.last().drop(CloseCode.Abnormal);
    expectReconnectAfter(375);
    server.last().accept(); // open but never ready: still a failure
    server.last().drop(CloseCode.ServerError);
    expectReconnectAfter(750);

    serveInitialState(server.last());
    server.last().drop(CloseCode.GoingAway);
    expectReconnectAfter(188);
  });

  it("caps the delay at maxDelayMs", () => {
    const { server, channel } = setup({ reconnect: { initialDelayMs: 1000, maxDelayMs: 3000, jitter: 0 } });
    channel.subscribe(noop);
    for (const expected of [1000, 2000, 3000, 3000]) {
      server.last().drop(CloseCode.Abnormal);
      const count = server.sockets.length;
      vi.advanceTimersByTime(expected - 1);
      expect(server.sockets).toHaveLength(count);
      vi.advanceTimersByTime(1);
      expect(server.sockets).toHaveLength(count + 1);
    }
  });

  it.each([CloseCode.GoingAway, CloseCode.Abnormal, CloseCode.TooSlow, CloseCode.ServerError, CloseCode.TooManyConnections])(
    "reconnects after close %i",
    (code) => {
      const { server, channel } = setup();
      channel.subscribe(noop);
      serveInitialState(server.last());
      server.last().drop(code, "bye");
      expect(channel.getSnapshot().error).toBeNull();
      vi.advanceTimersByTime(10_000);
      expect(server.sockets).toHaveLength(2);
    },
  );

  it.each([
    [CloseCode.Unauthorized, "unauthorized"],
    [CloseCode.ProtocolError, "protocol_error"],
    [CloseCode.Forbidden, "forbidden"],
    [CloseCode.NotFound, "not_found"],
    [CloseCode.MessageTooBig, "message_too_big"],
    [CloseCode.Revoked, "revoked"],
  ] as const)("stops after close %i and reports %s", (code, kind) => {
    const { server, channel } = setup();
    const listener = vi.fn();
    channel.subscribe(listener);
    server.last().accept();
    server.last().drop(code, "no");
    expect(channel.getSnapshot()).toEqual({ state: null, runtime: null, connected: false, error: { code, reason: "no", kind } });
    expect(listener).toHaveBeenCalled();
    vi.advanceTimersByTime(60_000);
    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(1);
  });

  it("resyncs after a reconnect: what was deleted while offline disappears", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    serveInitialState(server.last());
    const before = channel.getSnapshot().state;
    server.last().drop(CloseCode.TooSlow);
    vi.advanceTimersByTime(10_000);

    const socket = server.last();
    socket.accept();
    expect(socket.sent).toEqual([{ type: "auth", token: "d3m0-t0k3n", last_version: 41 }]);
    // A delta sent before the initial state is a protocol violation; it must not apply.
    socket.deliver({ type: "delta", v: 60, instances: [card(10, 60, 3, 7, "too early")], deleted: [] });
    socket.deliver({ type: "instances", instances: initialInstances().filter((i) => !(i._type === "Card" && i["id"] === 11)) });
    socket.deliver({ type: "instances", instances: [column(3, 55, [10])] });
    socket.deliver({ ...READY_41, v: 55 });

    const after = channel.getSnapshot().state;
    expect(after?.columns[0]?.cards.map((c) => [c.id, c.title])).toEqual([[10, "Card 10"]]);
    expect(channel.getInstance("Card", 11)).toBeNull();
    expect(after?.columns[1]).toBe(before?.columns[1]);
  });

  it("does not reconnect while nobody is subscribed", () => {
    const { server, channel } = setup();
    const unsubscribe = channel.subscribe(noop);
    server.last().drop(CloseCode.Abnormal);
    unsubscribe();
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(1);
    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(2);
  });

  it("waits for a scheduled reconnect instead of bypassing the backoff", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    server.last().drop(CloseCode.Abnormal);
    channel.subscribe(noop);
    expect(server.sockets).toHaveLength(1);
    vi.advanceTimersByTime(188);
    expect(server.sockets).toHaveLength(2);
  });

  it("stops everything for good on close()", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    serveInitialState(server.last());
    channel.close();
    expect(server.last().closedByClient?.code).toBe(1000);
    expect(channel.getSnapshot().connected).toBe(false);

    channel.subscribe(noop);
    vi.advanceTimersByTime(60_000);
    expect(server.sockets).toHaveLength(1);

    const dropped = setup();
    dropped.channel.subscribe(noop);
    dropped.server.last().drop(CloseCode.Abnormal); // a reconnect is scheduled
    dropped.channel.close();
    vi.advanceTimersByTime(60_000);
    expect(dropped.server.sockets).toHaveLength(1);
  });
});

describe("server messages", () => {
  it("passes error messages to onError and keeps the state and the socket", () => {
    const errors: ServerError[] = [];
    const { server, channel } = setup({ onError: (error) => errors.push(error) });
    channel.subscribe(noop);
    serveInitialState(server.last());
    const snapshot = channel.getSnapshot();
    server.last().deliver({ type: "error", code: "unknown_type", message: 'unknown message type "subscribe"' });
    server.last().deliver({ type: "error", code: "bad", message: "m", details: { field: "title" } });
    expect(errors).toEqual([
      { code: "unknown_type", message: 'unknown message type "subscribe"' },
      { code: "bad", message: "m", details: { field: "title" } },
    ]);
    expect(channel.getSnapshot()).toBe(snapshot);
    expect(server.last().closedByClient).toBeNull();
  });

  it("ignores frames it does not understand", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    serveInitialState(server.last());
    const snapshot = channel.getSnapshot();
    const socket = server.last();
    socket.deliverRaw("not json");
    socket.deliverRaw("[1, 2]");
    socket.deliverRaw(new Uint8Array([1, 2]));
    socket.deliver({ type: "system", message: "from a later protocol version" });
    socket.deliver({ type: "delta", v: "42" });
    socket.deliver({ type: "delta", v: 42, instances: [{ _type: "Card", _v: 42, title: "no key" }, "junk"], deleted: [{ key: 1 }] });
    expect(channel.getSnapshot().state).toEqual(snapshot.state);
    expect(channel.getSnapshot().connected).toBe(true);
  });

  it("makes the state null when the anchor is deleted", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    serveInitialState(server.last());
    server.last().deliver({ type: "delta", v: 42, instances: [], deleted: [{ _type: "Board", key: 1 }] });
    expect(channel.getSnapshot().state).toBeNull();
    expect(channel.getSnapshot().connected).toBe(true);
  });

  it("starts a new snapshot when instances follow a ready on the same socket", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    serveInitialState(server.last());
    server.last().deliver({ type: "instances", instances: [board(70, []), user(7, 2, "Ada")] });
    expect(channel.getSnapshot().state?.columns).toHaveLength(2);
    server.last().deliver({ ...READY_41, v: 70 });
    expect(channel.getSnapshot().state?.columns).toEqual([]);
    expect(channel.getInstance("Card", 10)).toBeNull();
  });
});

describe("heartbeats", () => {
  it("pings the server every interval while connected", () => {
    const { server, channel } = setup({ heartbeat: { intervalMs: 1000, timeoutMs: 5000 } });
    channel.subscribe(noop);
    serveInitialState(server.last());
    vi.advanceTimersByTime(1000);
    server.last().deliver({ type: "pong" });
    vi.advanceTimersByTime(1000);
    const pings = server.last().sent.filter((m) => (m as { type: string }).type === "ping");
    expect(pings).toHaveLength(2);
  });

  it("takes a silent server for dead and reconnects", () => {
    const { server, channel } = setup({ heartbeat: { intervalMs: 1000, timeoutMs: 2500 } });
    channel.subscribe(noop);
    serveInitialState(server.last());
    const first = server.last();
    vi.advanceTimersByTime(3000);
    expect(first.closedByClient).not.toBeNull();
    expect(channel.getSnapshot().connected).toBe(false);
    expect(channel.getSnapshot().error).toBeNull();
    vi.runOnlyPendingTimers();
    expect(server.sockets).toHaveLength(2);
  });

  it("keeps a socket that hears from the server", () => {
    const { server, channel } = setup({ heartbeat: { intervalMs: 1000, timeoutMs: 2500 } });
    channel.subscribe(noop);
    serveInitialState(server.last());
    for (let i = 0; i < 10; i += 1) {
      vi.advanceTimersByTime(1000);
      server.last().deliver({ type: "pong" });
    }
    expect(server.sockets).toHaveLength(1);
    expect(server.last().closedByClient).toBeNull();
  });
});

describe("system messages", () => {
  it("reach the option callback and every listener, and ignore malformed ones", () => {
    const seen: string[] = [];
    const { server, channel } = setup({ onSystemMessage: (m) => seen.push(`option ${m.level}: ${m.message}`) });
    const stop = channel.onSystemMessage((m) => seen.push(`listener ${m.level}: ${m.message}`));
    channel.subscribe(noop);
    serveInitialState(server.last());

    server.last().deliver({ type: "system", level: "info", message: "deployed v2" });
    server.last().deliver({ type: "system", level: "shout", message: "not a level" });
    server.last().deliver({ type: "system", level: "warning" });
    stop();
    server.last().deliver({ type: "system", level: "warning", message: "restart soon" });

    expect(seen).toEqual(["option info: deployed v2", "listener info: deployed v2", "option warning: restart soon"]);
    expect(channel.getSystemMessage()).toEqual({ level: "warning", message: "restart soon" });
    expect(channel.getSnapshot().connected).toBe(true);
  });

  it("make the channel reconnect after a random delay on maintenance, keeping its state", () => {
    const { server, channel } = setup({ random: () => 0.25, reconnect: { maintenanceSpreadMs: 4000 } });
    channel.subscribe(noop);
    serveInitialState(server.last());
    const state = channel.getSnapshot().state;
    const socket = server.last();

    socket.deliver({ type: "system", level: "maintenance", message: "restarting" });
    expect(socket.closedByClient).toEqual({ code: 1000, reason: undefined });
    expect(channel.getSnapshot()).toMatchObject({ connected: false, error: null, state });

    vi.advanceTimersByTime(999); // 0.25 of the 4 s spread
    expect(server.sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(server.sockets).toHaveLength(2);
    server.last().accept();
    expect(server.last().sent[0]).toMatchObject({ type: "auth", last_version: 41 });
  });
});
