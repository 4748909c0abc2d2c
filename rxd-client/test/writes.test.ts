import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActionError, ContextChannel, type ChannelModel, type ChannelOptions, type Key, type WritableList } from "../src/index";
import { BoardChannel, READY_41, card, column, initialInstances } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

interface LiveCard {
  id: number;
  column_id: number;
  title: string;
  save(patch: { title?: string; column_id?: number }): Promise<void>;
  delete(): Promise<void>;
}
interface LiveColumn {
  id: number;
  cards: WritableList<LiveCard, { title: string }>;
}
interface LiveBoard {
  id: number;
  columns: LiveColumn[];
}

// Shaped like the generated class of a channel with `writable(Card(save, create, delete))`.
class WritableBoardChannel extends ContextChannel<LiveBoard> {
  static readonly model: ChannelModel = {
    ...BoardChannel.model,
    writes: {
      Card: { save: true, create: true, delete: true, parent: { type: "Column", field: "column_id", relation: "cards" } },
    },
  };
  constructor(boardId: number, token: string, options?: ChannelOptions) {
    super(`/ws/boards/${String(boardId)}`, token, WritableBoardChannel.model, options);
  }
}

const noop = (): void => undefined;

function setup() {
  const server = fakeWebSocketServer();
  const channel = new WritableBoardChannel(1, "t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket, random: () => 0.5 });
  channel.subscribe(noop);
  const socket = server.last();
  socket.accept();
  socket.deliver({ type: "instances", instances: initialInstances() });
  socket.deliver(READY_41);
  return { server, channel, socket };
}

const writes = (socket: FakeSocket): unknown[] => socket.sent.filter((m) => (m as { type: string }).type === "write");
const state = (channel: WritableBoardChannel): LiveBoard => {
  const value = channel.getSnapshot().state;
  if (value === null) throw new Error("no state");
  return value;
};
const titles = (channel: WritableBoardChannel): string[][] => state(channel).columns.map((c) => c.cards.map((k) => k.title));
const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "resolved", (e: unknown) => e);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("optimistic writes", () => {
  it("a save shows at once, sends a write, and keeps the server's value once confirmed", async () => {
    const { channel, socket } = setup();
    const target = state(channel).columns[0]?.cards[0];
    const saved = target?.save({ title: "Renamed" });
    expect(titles(channel)[0]).toEqual(["Renamed", "Card 11"]);
    expect(writes(socket)).toEqual([{ type: "write", id: 1, op: "save", _type: "Card", key: 10, fields: { title: "Renamed" } }]);
    socket.deliver({ type: "delta", v: 42, instances: [card(10, 42, 3, 7, "Renamed")], deleted: [] });
    socket.deliver({ type: "reply", id: 1, result: null });
    await expect(saved).resolves.toBeUndefined();
    expect(titles(channel)[0]).toEqual(["Renamed", "Card 11"]);
  });

  it("a rejected save rolls back to the server's latest value, not the value before the write", async () => {
    const { channel, socket } = setup();
    const saved = state(channel).columns[0]?.cards[0]?.save({ title: "Mine" }) ?? Promise.resolve();
    // Someone else renamed the card meanwhile; the pending write still shows on top.
    socket.deliver({ type: "delta", v: 42, instances: [card(10, 42, 3, 7, "Theirs")], deleted: [] });
    expect(titles(channel)[0]).toEqual(["Mine", "Card 11"]);
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "this write is not allowed" } });
    const error = await rejection(saved);
    expect(error).toBeInstanceOf(ActionError);
    expect(error).toMatchObject({ code: "forbidden" });
    expect(titles(channel)[0]).toEqual(["Theirs", "Card 11"]);
  });

  it("a move (a save of the parent field) shows the card in its new column, and back on rejection", async () => {
    const { channel, socket } = setup();
    const moved = state(channel).columns[0]?.cards[0]?.save({ column_id: 4 }) ?? Promise.resolve();
    expect(titles(channel)).toEqual([["Card 11"], ["Card 12", "Card 10"]]);
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "no" } });
    await rejection(moved);
    expect(titles(channel)).toEqual([["Card 10", "Card 11"], ["Card 12"]]);
  });

  it("a rejected delete restores the item at its original position", async () => {
    const { channel, socket } = setup();
    const removed = state(channel).columns[0]?.cards[0]?.delete() ?? Promise.resolve();
    expect(titles(channel)[0]).toEqual(["Card 11"]);
    expect(writes(socket)).toEqual([{ type: "write", id: 1, op: "delete", _type: "Card", key: 10 }]);
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "no" } });
    await rejection(removed);
    expect(titles(channel)[0]).toEqual(["Card 10", "Card 11"]);
  });

  it("a create shows a pending item, then the server's, and resolves with the new key", async () => {
    const { channel, socket } = setup();
    const cards = state(channel).columns[1]?.cards;
    const created: Promise<Key> = cards?.create({ title: "New" }) ?? Promise.resolve(0);
    expect(titles(channel)[1]).toEqual(["Card 12", "New"]);
    const pending = state(channel).columns[1]?.cards[1];
    expect(pending?.column_id).toBe(4);
    expect(writes(socket)).toEqual([{ type: "write", id: 1, op: "create", _type: "Card", parent: 4, fields: { title: "New" } }]);
    socket.deliver({ type: "delta", v: 42, instances: [card(13, 42, 4, null, "New"), column(4, 42, [12, 13])], deleted: [] });
    socket.deliver({ type: "reply", id: 1, result: { key: 13 } });
    await expect(created).resolves.toBe(13);
    expect(titles(channel)[1]).toEqual(["Card 12", "New"]);
    expect(state(channel).columns[1]?.cards[1]?.id).toBe(13);
  });

  it("a rejected create disappears; a dropped socket rolls pending writes back", async () => {
    const { channel, socket } = setup();
    const created = state(channel).columns[1]?.cards.create({ title: "Nope" }) ?? Promise.resolve(0);
    const renamed = state(channel).columns[1]?.cards[0]?.save({ title: "Lost" }) ?? Promise.resolve();
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "no" } });
    await rejection(created);
    expect(titles(channel)[1]).toEqual(["Lost"]);
    socket.drop(1006);
    expect(await rejection(renamed)).toMatchObject({ code: "disconnected" });
    expect(titles(channel)[1]).toEqual(["Card 12"]);
  });

  it("state objects keep their fields as plain data", () => {
    const { channel } = setup();
    const target = state(channel).columns[0]?.cards[0];
    expect(Object.keys(target ?? {})).toEqual(["id", "column_id", "title", "assignee"]);
    expect(JSON.parse(JSON.stringify(target))).toEqual({ id: 10, column_id: 3, title: "Card 10", assignee: { id: 7, name: "Ada" } });
  });
});
