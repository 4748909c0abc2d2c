// List channels: the state is an ordered list of anchors (`Task[]`), changed at run time
// by `anchors` messages, with deltas per anchor that share versions.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActionError, CloseCode, ContextChannel, type ChannelModel, type ChannelOptions, type FlatInstance } from "../src/index";
import { parseServerMessage } from "../src/protocol";
import { StateStore } from "../src/store";
import { BoardChannel, READY_41, initialInstances } from "./board";
import { fakeWebSocketServer, type FakeSocket } from "./fake-websocket";

interface User {
  id: number;
  name: string;
}
interface Step {
  id: number;
  text: string;
}
interface Task {
  id: number;
  title: string;
  owner: User | null;
  steps: Step[];
  save(patch: { title?: string }): Promise<void>;
  delete(): Promise<void>;
}

// Shaped like the generated class of a list channel with `writable(Task(save, delete))`.
class TaskListChannel extends ContextChannel<Task[]> {
  static readonly model: ChannelModel = {
    anchor: "Task",
    list: true,
    types: {
      Task: {
        key: "id",
        relations: {
          owner: { type: "User", cardinality: "optional" },
          steps: { type: "Step", cardinality: "many" },
        },
      },
      Step: { key: "id", relations: {} },
      User: { key: "id", relations: {} },
    },
    writes: { Task: { save: true, create: false, delete: true, parent: null } },
  };
  constructor(token: string, options?: ChannelOptions) {
    super("/ws/tasks", token, TaskListChannel.model, options);
  }
}

const task = (id: number, v: number, owner: number | null, steps: number[], title = `Task ${String(id)}`): FlatInstance => ({
  _type: "Task",
  _v: v,
  id,
  title,
  owner,
  steps,
});
const step = (id: number, v: number, text = `Step ${String(id)}`): FlatInstance => ({ _type: "Step", _v: v, id, text });
const user = (id: number, v: number, name: string): FlatInstance => ({ _type: "User", _v: v, id, name });
const ref = (key: number) => ({ _type: "Task", key });

/** Tasks 1 and 2, both owned by Ada (7, shared); task 1 has steps 100 and 101, task 2 has step 200. */
function initialTasks(): FlatInstance[] {
  return [task(1, 10, 7, [100, 101]), step(100, 10), step(101, 10), task(2, 11, 7, [200]), step(200, 11), user(7, 1, "Ada")];
}
const READY = { type: "ready", v: 11, anchors: [ref(1), ref(2)] };

const noop = (): void => undefined;

function setup() {
  const server = fakeWebSocketServer();
  const channel = new TaskListChannel("t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket, random: () => 0.5 });
  const listener = vi.fn();
  channel.subscribe(listener);
  const socket = server.last();
  socket.accept();
  socket.deliver({ type: "instances", instances: initialTasks() });
  socket.deliver(READY);
  listener.mockClear();
  return { server, channel, socket, listener };
}

const state = (channel: TaskListChannel): Task[] => {
  const value = channel.getSnapshot().state;
  if (value === null) throw new Error("no state");
  return value;
};
const ids = (channel: TaskListChannel): number[] => state(channel).map((t) => t.id);
const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => "resolved", (e: unknown) => e);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("parsing list messages", () => {
  it("reads `ready` with `anchors` and the `anchors` message", () => {
    expect(parseServerMessage(JSON.stringify(READY))).toEqual(READY);
    expect(parseServerMessage(JSON.stringify({ type: "ready", v: 1, anchors: [] }))).toEqual({ type: "ready", v: 1, anchors: [] });
    expect(parseServerMessage(JSON.stringify({ type: "anchors", anchors: [ref(2)], instances: [step(1, 1)] }))).toEqual({
      type: "anchors",
      anchors: [ref(2)],
      instances: [step(1, 1)],
    });
  });

  it("rejects a malformed list as a whole, and a `ready` with both `anchor` and `anchors`", () => {
    expect(parseServerMessage(JSON.stringify({ type: "ready", v: 1, anchors: [ref(1), { key: 2 }] }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: "ready", v: 1, anchors: ref(1) }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: "ready", v: 1, anchor: ref(1), anchors: [ref(1)] }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: "anchors", anchors: [ref(1), null], instances: [] }))).toBeNull();
    expect(parseServerMessage(JSON.stringify({ type: "anchors", instances: [] }))).toBeNull();
  });
});

describe("list state", () => {
  it("builds the listed anchors in order, and an empty list as an empty array", () => {
    const { channel } = setup();
    expect(channel.getSnapshot().connected).toBe(true);
    expect(state(channel)).toEqual([
      { id: 1, title: "Task 1", owner: { id: 7, name: "Ada" }, steps: [{ id: 100, text: "Step 100" }, { id: 101, text: "Step 101" }] },
      { id: 2, title: "Task 2", owner: { id: 7, name: "Ada" }, steps: [{ id: 200, text: "Step 200" }] },
    ]);
    expect(Object.isFrozen(state(channel))).toBe(true);

    const store = new StateStore<Task[]>(TaskListChannel.model);
    store.beginSnapshot();
    expect(store.completeSnapshot(1, [])).toBe(true);
    expect(store.state).toEqual([]);
  });

  it("skips an anchor whose instance is absent", () => {
    const store = new StateStore<Task[]>(TaskListChannel.model);
    store.receiveInstances([task(1, 1, null, [])]);
    store.completeSnapshot(1, [ref(9), ref(1)]);
    expect(store.state?.map((t) => t.id)).toEqual([1]);
  });

  it("ignores a `ready` of the other kind", () => {
    const store = new StateStore<Task[]>(TaskListChannel.model);
    expect(store.completeSnapshot(1, ref(1))).toBe(false);
    expect(store.state).toBeNull();
    const single = new StateStore(BoardChannel.model);
    expect(single.completeSnapshot(1, [ref(1)])).toBe(false);
    expect(single.applyAnchors([ref(1)], [])).toBe(false);
  });
});

describe("the `anchors` message", () => {
  it("adds anchors at the start and at the end with their instances", () => {
    const { channel, socket, listener } = setup();
    const [first, second] = state(channel);
    socket.deliver({ type: "anchors", anchors: [ref(3), ref(1), ref(2)], instances: [task(3, 12, null, [300]), step(300, 12)] });
    expect(ids(channel)).toEqual([3, 1, 2]);
    expect(state(channel)[0]?.steps.map((s) => s.text)).toEqual(["Step 300"]);
    expect(state(channel)[1]).toBe(first);
    expect(state(channel)[2]).toBe(second);
    expect(listener).toHaveBeenCalledTimes(1);

    socket.deliver({ type: "anchors", anchors: [ref(3), ref(1), ref(2), ref(4)], instances: [task(4, 13, 8, []), user(8, 1, "Grace")] });
    expect(ids(channel)).toEqual([3, 1, 2, 4]);
    expect(state(channel)[3]?.owner?.name).toBe("Grace");
  });

  it("drops the instances of a removed anchor, but not those another anchor still reaches", () => {
    const { channel, socket } = setup();
    socket.deliver({ type: "anchors", anchors: [ref(2)], instances: [] });
    expect(ids(channel)).toEqual([2]);
    expect(channel.getInstance("Task", 1)).toBeNull();
    expect(channel.getInstance("Step", 100)).toBeNull();
    expect(channel.getInstance("Step", 101)).toBeNull();
    expect(channel.getInstance("User", 7)).toBe(state(channel)[0]?.owner); // shared with task 2
    expect(channel.getInstance("Step", 200)).not.toBeNull();
  });

  it("is ignored while a snapshot is incomplete", () => {
    const store = new StateStore<Task[]>(TaskListChannel.model);
    store.receiveInstances(initialTasks());
    expect(store.applyAnchors([ref(1)], [])).toBe(false);
    store.completeSnapshot(11, [ref(1), ref(2)]);
    expect(store.state?.map((t) => t.id)).toEqual([1, 2]);
    expect(store.stats().instances).toBe(6);
  });
});

describe("deltas of a list channel", () => {
  it("applies deltas of two anchors that share a `v`, and older ones, keeping the highest `v`", () => {
    const { channel, socket } = setup();
    socket.deliver({ type: "delta", v: 12, instances: [task(1, 12, 7, [100, 101], "One")], deleted: [] });
    socket.deliver({ type: "delta", v: 12, instances: [task(2, 12, 7, [200], "Two")], deleted: [] });
    socket.deliver({ type: "delta", v: 11, instances: [step(200, 11, "Older frame")], deleted: [] });
    expect(state(channel).map((t) => t.title)).toEqual(["One", "Two"]);
    expect(state(channel)[1]?.steps[0]?.text).toBe("Older frame");
  });

  it("keeps a deleted child that another anchor still lists, and drops it once none does", () => {
    const { channel, socket } = setup();
    socket.deliver({ type: "delta", v: 12, instances: [task(1, 12, null, [100, 101])], deleted: [{ _type: "User", key: 7 }] });
    expect(state(channel)[0]?.owner).toBeNull();
    expect(state(channel)[1]?.owner?.name).toBe("Ada");
    // Task 2's own update comes in a later frame, without a deletion of its own.
    socket.deliver({ type: "delta", v: 12, instances: [task(2, 12, null, [200])], deleted: [] });
    expect(state(channel)[1]?.owner).toBeNull();
    expect(channel.getInstance("User", 7)).toBeNull();
  });

  it("removes a deleted child that nothing lists, and keeps the maps bounded", () => {
    const store = new StateStore<Task[]>(TaskListChannel.model);
    store.receiveInstances(initialTasks());
    store.completeSnapshot(11, [ref(1), ref(2)]);
    const baseline = store.stats();
    expect(store.applyDelta(12, [task(1, 12, 7, [100]), step(102, 12)], [{ _type: "Step", key: 101 }])).toBe(true);
    expect(store.getInstance("Step", 101)).toBeNull();
    expect(store.getInstance("Step", 102)).toBeNull(); // listed by no anchor
    expect(baseline).toEqual({ instances: 6, referencedInstances: 4, cachedObjects: 6 });
    expect(store.stats()).toEqual({ instances: 5, referencedInstances: 3, cachedObjects: 5 });
    expect(store.version).toBe(12);
  });

  it("keeps the identity of an unchanged anchor, and of the array while nothing changed", () => {
    const { channel, socket, listener } = setup();
    const before = channel.getSnapshot();
    expect(channel.getSnapshot()).toBe(before);
    socket.deliver({ type: "delta", v: 12, instances: [step(200, 12, "Changed")], deleted: [] });
    const after = state(channel);
    expect(after).not.toBe(before.state);
    expect(after[0]).toBe(before.state?.[0]);
    expect(after[1]).not.toBe(before.state?.[1]);
    expect(after[1]?.owner).toBe(before.state?.[1]?.owner);
    expect(listener).toHaveBeenCalledTimes(1);

    // The same list again: the state does not change.
    socket.deliver({ type: "anchors", anchors: [ref(1), ref(2)], instances: [] });
    expect(state(channel)).toBe(after);
  });
});

describe("reconnecting a list channel", () => {
  it("sends no `last_version` and replaces the state with the full state", () => {
    const { server, channel, socket } = setup();
    socket.deliver({ type: "delta", v: 12, instances: [task(2, 12, 7, [200], "Two")], deleted: [] });
    const before = state(channel);
    socket.drop(CloseCode.Abnormal);
    vi.advanceTimersByTime(10_000);
    const next = server.last();
    expect(next).not.toBe(socket);
    next.accept();
    expect(next.sent).toEqual([{ type: "auth", token: "t" }]);
    next.deliver({ type: "instances", instances: [task(2, 12, 7, [200], "Two"), step(200, 11), user(7, 1, "Ada")] });
    next.deliver({ type: "ready", v: 13, anchors: [ref(2)] });
    expect(ids(channel)).toEqual([2]);
    expect(state(channel)[0]).toBe(before[1]); // unchanged instances keep their objects
    expect(channel.getInstance("Task", 1)).toBeNull();
  });

  it("a single-anchor channel still resumes", () => {
    const server = fakeWebSocketServer();
    const channel = new BoardChannel(1, "t", { baseUrl: "ws://rxd.test", WebSocket: server.WebSocket, random: () => 0.5 });
    channel.subscribe(noop);
    const first: FakeSocket = server.last();
    first.accept();
    first.deliver({ type: "instances", instances: initialInstances() });
    first.deliver(READY_41);
    first.drop(CloseCode.Abnormal);
    vi.advanceTimersByTime(10_000);
    server.last().accept();
    expect(server.last().sent).toEqual([{ type: "auth", token: "t", last_version: 41 }]);
  });
});

describe("writes on list items", () => {
  it("a save shows at once and rolls back on rejection", async () => {
    const { channel, socket } = setup();
    const second = state(channel)[1];
    const saved = state(channel)[0]?.save({ title: "Mine" }) ?? Promise.resolve();
    expect(state(channel).map((t) => t.title)).toEqual(["Mine", "Task 2"]);
    expect(state(channel)[1]).toBe(second);
    expect(socket.sent.at(-1)).toEqual({ type: "write", id: 1, op: "save", _type: "Task", key: 1, fields: { title: "Mine" } });
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "no" } });
    const error = await rejection(saved);
    expect(error).toBeInstanceOf(ActionError);
    expect(state(channel).map((t) => t.title)).toEqual(["Task 1", "Task 2"]);
  });

  it("a delete hides the anchor at once and restores it on rejection", async () => {
    const { channel, socket } = setup();
    const removed = state(channel)[0]?.delete() ?? Promise.resolve();
    expect(ids(channel)).toEqual([2]);
    socket.deliver({ type: "reply", id: 1, error: { code: "forbidden", message: "no" } });
    await rejection(removed);
    expect(ids(channel)).toEqual([1, 2]);
  });
});
