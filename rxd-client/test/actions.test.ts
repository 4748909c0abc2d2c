import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActionError } from "../src/index";
import { BoardChannel, READY_41, initialInstances } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

const noop = (): void => undefined;

function setup() {
  const server = fakeWebSocketServer();
  const channel = new BoardChannel(1, "t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket, random: () => 0.5 });
  return { server, channel };
}

function ready(socket: FakeSocket): void {
  socket.accept();
  socket.deliver({ type: "instances", instances: initialInstances() });
  socket.deliver(READY_41);
}

/** The call messages a socket sent. */
const calls = (socket: FakeSocket): unknown[] => socket.sent.filter((m) => (m as { type: string }).type === "call");

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("actions", () => {
  it("sends a call and resolves with the reply's result", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    const renamed = channel.renameCard(10, "New");
    expect(calls(server.last())).toEqual([{ type: "call", id: 1, action: "rename_card", args: [10, "New"] }]);
    server.last().deliver({ type: "reply", id: 1, result: { id: 10, title: "New" } });
    await expect(renamed).resolves.toEqual({ id: 10, title: "New" });
  });

  it("rejects with an ActionError carrying the server's code and details", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    const renamed = channel.renameCard(10, " ");
    server.last().deliver({ type: "reply", id: 1, error: { code: "invalid", message: "invalid input", details: { fields: { title: "empty" } } } });
    const error: unknown = await renamed.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ActionError);
    expect(error).toMatchObject({ code: "invalid", message: "invalid input", details: { fields: { title: "empty" } } });
  });

  it("answers replies by id in any order", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    const first = channel.renameCard(1, "a");
    const second = channel.renameCard(2, "b");
    server.last().deliver({ type: "reply", id: 2, result: "second" });
    server.last().deliver({ type: "reply", id: 1, result: "first" });
    await expect(first).resolves.toBe("first");
    await expect(second).resolves.toBe("second");
  });

  it("holds a call made before ready and sends it once the state is there", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    const renamed = channel.renameCard(10, "Early");
    server.last().accept();
    expect(calls(server.last())).toEqual([]);
    server.last().deliver({ type: "instances", instances: initialInstances() });
    server.last().deliver(READY_41);
    expect(calls(server.last())).toEqual([{ type: "call", id: 1, action: "rename_card", args: [10, "Early"] }]);
    server.last().deliver({ type: "reply", id: 1, result: null });
    await expect(renamed).resolves.toBeNull();
  });

  it("fails sent calls with disconnected on a drop, resends unsent ones after the reconnect, and never reuses an id", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    const inFlight = channel.renameCard(1, "a");
    server.last().drop(1006);
    const queued = channel.renameCard(2, "b");
    await expect(inFlight).rejects.toMatchObject({ code: "disconnected" });
    vi.runOnlyPendingTimers();
    ready(server.last());
    expect(calls(server.last())).toEqual([{ type: "call", id: 2, action: "rename_card", args: [2, "b"] }]);
    server.last().deliver({ type: "reply", id: 2, result: "ok" });
    await expect(queued).resolves.toBe("ok");
  });

  it("fails every call when the channel cannot go on", async () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    const queued = channel.renameCard(1, "a");
    server.last().accept();
    server.last().drop(4003, "forbidden");
    await expect(queued).rejects.toMatchObject({ code: "closed" });
    await expect(channel.renameCard(1, "b")).rejects.toMatchObject({ code: "closed" });
  });

  it("refuses a call without a subscriber and after close()", async () => {
    const { server, channel } = setup();
    await expect(channel.renameCard(1, "a")).rejects.toMatchObject({ code: "not_connected" });
    channel.subscribe(noop);
    ready(server.last());
    const pending = channel.renameCard(1, "a");
    channel.close();
    await expect(pending).rejects.toMatchObject({ code: "disconnected" });
    await expect(channel.renameCard(1, "b")).rejects.toMatchObject({ code: "closed" });
  });

  it("ignores a reply to an unknown id", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    expect(() => {
      server.last().deliver({ type: "reply", id: 99, result: 1 });
    }).not.toThrow();
  });
});

describe("runtime state", () => {
  it("is null until the server sends it, then follows every runtime message", () => {
    const { server, channel } = setup();
    let notified = 0;
    channel.subscribe(() => {
      notified += 1;
    });
    ready(server.last());
    expect(channel.getSnapshot().runtime).toBeNull();
    const state = channel.getSnapshot().state;
    server.last().deliver({ type: "runtime", state: { selected: 3 } });
    expect(channel.getSnapshot().runtime).toEqual({ selected: 3 });
    expect(channel.getSnapshot().state).toBe(state);
    const before = notified;
    server.last().deliver({ type: "runtime", state: { selected: 4 } });
    expect(channel.getSnapshot().runtime).toEqual({ selected: 4 });
    expect(notified).toBe(before + 1);
  });

  it("ignores a runtime message without a state", () => {
    const { server, channel } = setup();
    channel.subscribe(noop);
    ready(server.last());
    server.last().deliver({ type: "runtime" });
    expect(channel.getSnapshot().runtime).toBeNull();
  });
});
