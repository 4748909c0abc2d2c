// Resume (docs/PROTOCOL.md, "Resume"): a reconnecting channel asks for what it missed
// and applies the answer, or a full reload, in one step.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CloseCode, type FlatInstance } from "../src/index";
import { BoardChannel, READY_41, card, column, initialInstances } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

type Snapshot = ReturnType<BoardChannel["getSnapshot"]>;

/** A channel with its initial state at v 41, then dropped and reconnected (not yet answered). */
function reconnected() {
  const server = fakeWebSocketServer();
  const channel = new BoardChannel(1, "d3m0-t0k3n", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket, random: () => 0.5 });
  const seen: Snapshot[] = [];
  channel.subscribe(() => seen.push(channel.getSnapshot()));
  const first = server.last();
  first.accept();
  first.deliver({ type: "instances", instances: initialInstances() });
  first.deliver(READY_41);
  const before = channel.getSnapshot();
  first.drop(CloseCode.Abnormal);
  vi.advanceTimersByTime(10_000);
  const socket = server.last();
  socket.accept();
  seen.length = 0;
  return { server, channel, socket, before, seen };
}

/** Every state the listeners saw holds the whole board: never empty, never partial. */
function expectNoFlicker(seen: Snapshot[]): void {
  for (const snapshot of seen) {
    expect(snapshot.state).not.toBeNull();
    expect(snapshot.state?.columns.length).toBeGreaterThan(0);
  }
}

function answerResume(socket: FakeSocket, instances: FlatInstance[], deleted: { _type: string; key: number }[], v: number): void {
  socket.deliver({ type: "resume", from: 41, deleted });
  if (instances.length > 0) socket.deliver({ type: "instances", instances });
  socket.deliver({ ...READY_41, v });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("resume", () => {
  it("asks for what it missed and applies only that, keeping everything else", () => {
    const { socket, channel, before, seen } = reconnected();
    expect(socket.sent).toEqual([{ type: "auth", token: "d3m0-t0k3n", last_version: 41 }]);

    // While offline: card 11 was deleted, card 13 created in column 3, card 12 renamed.
    answerResume(
      socket,
      [column(3, 50, [10, 13]), card(13, 50, 3, null, "New"), card(12, 48, 4, 8, "Renamed")],
      [{ _type: "Card", key: 11 }],
      50,
    );

    const after = channel.getSnapshot().state;
    expect(after?.columns.map((c) => c.cards.map((k) => [k.id, k.title]))).toEqual([
      [
        [10, "Card 10"],
        [13, "New"],
      ],
      [[12, "Renamed"]],
    ]);
    expect(channel.getInstance("Card", 11)).toBeNull();
    // Untouched instances keep their objects: React re-renders only what changed.
    expect(after?.columns[0]?.cards[0]).toBe(before.state?.columns[0]?.cards[0]);
    expect(after?.owner).toBe(before.state?.owner);
    expectNoFlicker(seen);
    expect(seen.filter((s) => s.state !== before.state)).toHaveLength(1);
  });

  it("an empty resume changes nothing and the next reconnect resumes from the new version", () => {
    const { server, socket, channel, before } = reconnected();
    answerResume(socket, [], [], 45);
    expect(channel.getSnapshot().state).toBe(before.state);
    // A delta the answer already covered is ignored; a later one applies.
    socket.deliver({ type: "delta", v: 45, instances: [card(10, 45, 3, 7, "stale")], deleted: [] });
    expect(channel.getSnapshot().state?.columns[0]?.cards[0]?.title).toBe("Card 10");
    socket.deliver({ type: "delta", v: 46, instances: [card(10, 46, 3, 7, "fresh")], deleted: [] });
    expect(channel.getSnapshot().state?.columns[0]?.cards[0]?.title).toBe("fresh");

    socket.drop(CloseCode.Abnormal);
    vi.advanceTimersByTime(10_000);
    server.last().accept();
    expect(server.last().sent).toEqual([{ type: "auth", token: "d3m0-t0k3n", last_version: 46 }]);
  });

  it("applies a full reload (history gone) in one step, without an empty state in between", () => {
    const { socket, channel, before, seen } = reconnected();
    const reloaded = initialInstances().filter((i) => !(i._type === "Card" && i["id"] === 12));
    socket.deliver({ type: "instances", instances: reloaded.slice(0, 3) });
    expect(channel.getSnapshot().state).toBe(before.state);
    socket.deliver({ type: "instances", instances: [...reloaded.slice(3), column(4, 70, [])] });
    expect(channel.getSnapshot().state).toBe(before.state);
    socket.deliver({ ...READY_41, v: 70 });

    const after = channel.getSnapshot().state;
    expect(after?.columns[1]?.cards).toEqual([]);
    expect(after?.columns[0]).toBe(before.state?.columns[0]);
    expectNoFlicker(seen);
    expect(seen.filter((s) => s.state !== before.state)).toHaveLength(1);
  });

  it("a resume whose socket drops before ready leaves the state and version as they were", () => {
    const { server, socket, channel, before } = reconnected();
    socket.deliver({ type: "resume", from: 41, deleted: [{ _type: "Card", key: 10 }] });
    socket.deliver({ type: "instances", instances: [column(3, 50, [11])] });
    socket.drop(CloseCode.Abnormal);
    expect(channel.getSnapshot().state).toBe(before.state);
    vi.advanceTimersByTime(10_000);
    server.last().accept();
    expect(server.last().sent).toEqual([{ type: "auth", token: "d3m0-t0k3n", last_version: 41 }]);
  });
});
