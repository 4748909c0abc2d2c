import { describe, expect, it, vi } from "vitest";
import { StateStore } from "../src/store";
import type { ChannelModel, FlatInstance, InstanceRef } from "../src/index";
import { BoardChannel, board, card, column, initialInstances, user, type Board } from "./board";

const ANCHOR: InstanceRef = { _type: "Board", key: 1 };

function loadedStore(instances: FlatInstance[] = initialInstances(), version = 41): StateStore<Board> {
  const store = new StateStore<Board>(BoardChannel.model);
  store.beginSnapshot();
  store.receiveInstances(instances);
  store.completeSnapshot(version, ANCHOR);
  return store;
}

function stateOf(store: StateStore<Board>): Board {
  const state = store.state;
  if (state === null) throw new Error("the store has no state");
  return state;
}

function delta(store: StateStore<Board>, v: number, instances: FlatInstance[], deleted: InstanceRef[] = []): boolean {
  return store.applyDelta(v, instances, deleted);
}

describe("building the nested state", () => {
  it("nests relations by cardinality and leaves the metadata out", () => {
    const state = stateOf(loadedStore());
    expect(state).toEqual({
      id: 1,
      title: "Launch",
      owner: { id: 7, name: "Ada" },
      columns: [
        {
          id: 3,
          board_id: 1,
          name: "Column 3",
          cards: [
            { id: 10, column_id: 3, title: "Card 10", assignee: { id: 7, name: "Ada" } },
            { id: 11, column_id: 3, title: "Card 11", assignee: null },
          ],
        },
        {
          id: 4,
          board_id: 1,
          name: "Column 4",
          cards: [{ id: 12, column_id: 4, title: "Card 12", assignee: { id: 8, name: "Grace" } }],
        },
      ],
    });
  });

  it("has no state before ready, and builds nothing from instances alone", () => {
    const store = new StateStore<Board>(BoardChannel.model);
    expect(store.state).toBeNull();
    store.receiveInstances(initialInstances());
    expect(store.state).toBeNull();
    expect(store.version).toBeNull();
  });

  it("makes an instance shared by two parents one object", () => {
    const state = stateOf(loadedStore());
    expect(state.columns[0]?.cards[0]?.assignee).toBe(state.owner);
  });

  it("returns the same object from getInstance as inside the state", () => {
    const store = loadedStore();
    const state = stateOf(store);
    expect(store.getInstance("Column", 4)).toBe(state.columns[1]);
    expect(store.getInstance("User", 7)).toBe(state.owner);
    expect(store.getInstance("Card", 999)).toBeNull();
    expect(store.getInstance("Nope", 1)).toBeNull();
  });

  it("skips dangling keys in lists and reads them as null in single relations", () => {
    const state = stateOf(
      loadedStore([board(40, [3, 99]), column(3, 1, [10, 98]), card(10, 1, 3, 97)]),
    );
    expect(state.columns).toHaveLength(1);
    expect(state.columns[0]?.cards.map((c) => c.id)).toEqual([10]);
    expect(state.columns[0]?.cards[0]?.assignee).toBeNull();
    expect(state.owner).toBeNull(); // a `one` relation whose instance is missing
  });

  it("gives relations the server left out their empty value", () => {
    const { columns: _columns, owner: _owner, ...bare } = board(40, []);
    const state = stateOf(loadedStore([bare]));
    expect(state.columns).toEqual([]);
    expect(state.owner).toBeNull();
  });

  it("keeps string keys, and types the model does not know, as plain values", () => {
    const model: ChannelModel = {
      anchor: "Room",
      types: { Room: { key: "slug", relations: { topic: { type: "Topic", cardinality: "one" } } } },
    };
    const store = new StateStore<{ slug: string; topic: { id: number; tags: string[] } }>(model);
    store.receiveInstances([
      { _type: "Room", _v: 1, slug: "lobby", topic: 5 },
      { _type: "Topic", _v: 1, id: 5, tags: ["a"] },
    ]);
    store.completeSnapshot(1, { _type: "Room", key: "lobby" });
    expect(store.state).toEqual({ slug: "lobby", topic: { id: 5, tags: ["a"] } });
  });

  it("freezes nested objects and lists", () => {
    const state = stateOf(loadedStore());
    expect(Object.isFrozen(state)).toBe(true);
    expect(Object.isFrozen(state.columns)).toBe(true);
    expect(Object.isFrozen(state.columns[0]?.cards[0])).toBe(true);
  });

  it("does not hang on a cycle in the data", () => {
    const model: ChannelModel = {
      anchor: "Node",
      types: { Node: { key: "id", relations: { next: { type: "Node", cardinality: "optional" } } } },
    };
    interface Node {
      id: number;
      next: Node | null;
    }
    const store = new StateStore<Node>(model);
    store.receiveInstances([
      { _type: "Node", _v: 1, id: 1, next: 2 },
      { _type: "Node", _v: 1, id: 2, next: 1 },
    ]);
    store.completeSnapshot(1, { _type: "Node", key: 1 });
    expect(store.state?.next?.id).toBe(2);
    expect(store.state?.next?.next).toBeNull(); // the edge back to the root is cut
    expect(store.applyDelta(2, [{ _type: "Node", _v: 2, id: 2, next: 1, label: "x" }], [])).toBe(true);
    expect(store.state?.next).toMatchObject({ id: 2, label: "x" });
  });
});

describe("applying deltas", () => {
  it("gives new identities on the path to the root and keeps every other object", () => {
    const store = loadedStore();
    const before = stateOf(store);
    expect(delta(store, 42, [card(11, 42, 3, null, "Renamed")])).toBe(true);
    const after = stateOf(store);

    expect(after).not.toBe(before);
    expect(after.columns).not.toBe(before.columns);
    expect(after.columns[0]).not.toBe(before.columns[0]);
    expect(after.columns[0]?.cards[1]).not.toBe(before.columns[0]?.cards[1]);
    expect(after.columns[0]?.cards[1]?.title).toBe("Renamed");

    expect(after.columns[0]?.cards[0]).toBe(before.columns[0]?.cards[0]);
    expect(after.columns[1]).toBe(before.columns[1]);
    expect(after.owner).toBe(before.owner);
  });

  it("renews every parent of a changed shared instance", () => {
    const store = loadedStore();
    const before = stateOf(store);
    delta(store, 42, [user(7, 42, "Ada L.")]);
    const after = stateOf(store);

    expect(after.owner.name).toBe("Ada L.");
    expect(after.columns[0]?.cards[0]?.assignee).toBe(after.owner);
    expect(after.columns[0]).not.toBe(before.columns[0]);
    expect(after.columns[0]?.cards[1]).toBe(before.columns[0]?.cards[1]);
    expect(after.columns[1]).toBe(before.columns[1]);
  });

  it("never changes an earlier snapshot", () => {
    const store = loadedStore();
    const before = stateOf(store);
    const copy = structuredClone(before);
    delta(store, 42, [card(11, 42, 3, 8, "Renamed"), column(3, 42, [11, 13]), card(13, 42, 3, null)], [
      { _type: "Card", key: 10 },
    ]);
    delta(store, 43, [user(7, 43, "Someone else")]);
    expect(before).toEqual(copy);
  });

  it("ignores a delta that is not newer than the last applied version", () => {
    const store = loadedStore(initialInstances(), 41);
    const before = stateOf(store);
    expect(delta(store, 41, [card(11, 41, 3, null, "Same version")])).toBe(false);
    expect(delta(store, 30, [card(11, 30, 3, null, "Older")])).toBe(false);
    expect(store.state).toBe(before);
    expect(store.version).toBe(41);

    expect(delta(store, 45, [card(11, 45, 3, null, "Newer")])).toBe(true);
    expect(store.version).toBe(45);
    expect(delta(store, 44, [card(11, 44, 3, null, "Late")])).toBe(false);
    expect(store.state?.columns[0]?.cards[1]?.title).toBe("Newer");
  });

  it("ignores deltas before ready and while a resync is incomplete", () => {
    const store = new StateStore<Board>(BoardChannel.model);
    expect(delta(store, 50, [card(11, 50, 3, null)])).toBe(false);

    const loaded = loadedStore();
    loaded.beginSnapshot();
    expect(delta(loaded, 50, [card(11, 50, 3, null, "During resync")])).toBe(false);
  });

  it("adds a new child sent with its parent", () => {
    const store = loadedStore();
    delta(store, 42, [card(13, 42, 4, 7, "New"), column(4, 42, [12, 13])]);
    const state = stateOf(store);
    expect(state.columns[1]?.cards.map((c) => c.title)).toEqual(["Card 12", "New"]);
    expect(state.columns[1]?.cards[1]?.assignee).toBe(state.owner);
  });

  it("moves an instance between parents", () => {
    const store = loadedStore();
    const before = stateOf(store);
    const movedCard = before.columns[0]?.cards[1];
    delta(store, 42, [column(3, 42, [10]), column(4, 42, [12, 11]), card(11, 42, 4, null)]);
    const state = stateOf(store);
    expect(state.columns[0]?.cards.map((c) => c.id)).toEqual([10]);
    expect(state.columns[1]?.cards.map((c) => c.id)).toEqual([12, 11]);
    expect(state.columns[1]?.cards[1]).not.toBe(movedCard); // its column_id changed
    expect(state.columns[1]?.cards[0]).toBe(before.columns[1]?.cards[0]);
  });

  it("removes a deleted instance from every parent, even parents the delta does not resend", () => {
    const store = loadedStore();
    delta(store, 42, [], [{ _type: "User", key: 7 }]);
    const state = stateOf(store);
    expect(state.columns[0]?.cards[0]?.assignee).toBeNull();
    expect(state.owner).toBeNull();
    expect(state.columns[1]?.cards[0]?.assignee?.name).toBe("Grace");

    delta(store, 43, [], [{ _type: "Card", key: 10 }]);
    expect(stateOf(store).columns[0]?.cards.map((c) => c.id)).toEqual([11]);
    expect(store.getInstance("Card", 10)).toBeNull();
  });

  it("shows a deleted key again when its instance comes back", () => {
    const store = loadedStore();
    delta(store, 42, [], [{ _type: "Card", key: 12 }]);
    expect(stateOf(store).columns[1]?.cards).toEqual([]);
    delta(store, 43, [card(12, 43, 4, null, "Back")]);
    expect(stateOf(store).columns[1]?.cards.map((c) => c.title)).toEqual(["Back"]);
  });

  it("makes the state null when the anchor is deleted", () => {
    const store = loadedStore();
    delta(store, 42, [], [{ _type: "Board", key: 1 }]);
    expect(store.state).toBeNull();
    expect(store.version).toBe(42);
  });

  it("rebuilds only the changed instance and its ancestors", () => {
    const cardIds = Array.from({ length: 1000 }, (_, index) => 100 + index);
    const store = loadedStore([
      board(40, [3, 4]),
      column(3, 1, cardIds),
      column(4, 1, []),
      user(7, 1, "Ada"),
      ...cardIds.map((id) => card(id, 1, 3, null)),
    ]);
    // Every nested object is made by one Object.fromEntries call in the store.
    const built = vi.spyOn(Object, "fromEntries");
    try {
      delta(store, 42, [card(500, 42, 3, null, "Changed")]);
      expect(built).toHaveBeenCalledTimes(3); // the card, its column, the board
      built.mockClear();
      delta(store, 43, [column(4, 43, [], "Renamed")]);
      expect(built).toHaveBeenCalledTimes(2);
    } finally {
      built.mockRestore();
    }
  });

  it("stays bounded while instances come and go", () => {
    const store = loadedStore();
    const baseline = store.stats();
    for (let round = 0; round < 50; round += 1) {
      const v = 100 + round * 2;
      const ids = Array.from({ length: 20 }, (_, index) => 1000 + round * 20 + index);
      delta(store, v, [column(4, v, [12, ...ids]), ...ids.map((id) => card(id, v, 4, 7))]);
      store.getInstance("Card", ids[0] ?? 0);
      delta(
        store,
        v + 1,
        [column(4, v + 1, [12])],
        ids.map((id) => ({ _type: "Card", key: id })),
      );
    }
    expect(store.stats()).toEqual(baseline);
    expect(stateOf(store).columns[1]?.cards.map((c) => c.id)).toEqual([12]);
  });
});

describe("resync", () => {
  it("replaces everything with the new snapshot, dropping what was deleted meanwhile", () => {
    const store = loadedStore();
    store.receiveInstances([board(50, [3]), column(3, 50, [10]), card(10, 20, 3, 7), user(7, 2, "Ada")]);
    expect(store.state?.columns).toHaveLength(2); // nothing changes before ready
    store.completeSnapshot(50, ANCHOR);
    const state = stateOf(store);
    expect(state.columns.map((c) => c.id)).toEqual([3]);
    expect(state.columns[0]?.cards.map((c) => c.id)).toEqual([10]);
    expect(store.getInstance("Card", 12)).toBeNull();
    expect(store.getInstance("User", 8)).toBeNull();
    expect(store.version).toBe(50);
  });

  it("keeps the identity of instances the resync did not change", () => {
    const store = loadedStore();
    const before = stateOf(store);
    store.beginSnapshot();
    store.receiveInstances(initialInstances());
    store.receiveInstances([card(12, 45, 4, 8, "Changed offline")]);
    store.completeSnapshot(45, ANCHOR);
    const after = stateOf(store);
    expect(after.columns[1]?.cards[0]?.title).toBe("Changed offline");
    expect(after.columns[0]).toBe(before.columns[0]);
    expect(after.owner).toBe(before.owner);
    expect(after.columns[1]).not.toBe(before.columns[1]);
  });

  it("accepts a snapshot with an older version (a full state replaces, it is not a delta)", () => {
    const store = loadedStore(initialInstances(), 41);
    store.beginSnapshot();
    store.receiveInstances(initialInstances());
    store.completeSnapshot(39, ANCHOR);
    expect(store.version).toBe(39);
    expect(delta(store, 40, [card(11, 40, 3, null, "After")])).toBe(true);
  });
});
