// Flat instances in, nested immutable state out, with structural sharing.
//
// The store keeps the flat instances of one channel view and rebuilds the nested
// tree from the anchor on demand. Each instance's nested object is cached; a change
// invalidates the changed instances and, through a reverse index (child → parents),
// their ancestors only. Everything else keeps its identity, so React re-renders
// exactly the components whose data changed, and rebuild cost is proportional to
// what changed rather than to the size of the state.
//
// A list channel (`model.list`) has an ordered list of anchors instead of one: its
// state is the array of their nested objects, and since anchors come and go, the
// store drops the instances that no listed anchor reaches any more.
import { isKey, type WriteRequest } from "./protocol";
import type { ChannelModel, FlatInstance, InstanceRef, Key, RelationModel, TypeModel } from "./types";
import { WriteOverlay } from "./writes";

/** Sends a browser write and resolves with the server's reply (`{key}` for a create). */
export type Writer = (request: WriteRequest) => Promise<unknown>;

/** `${_type}:${key}`: the identity of an instance within a channel view. */
export type InstanceId = string;

export function instanceId(type: string, key: Key): InstanceId {
  return `${type}:${String(key)}`;
}

/** Fields that are metadata of the flat form and are not part of the nested objects. */
const METADATA_FIELDS: ReadonlySet<string> = new Set(["_type", "_v"]);

const DEFAULT_TYPE_MODEL: TypeModel = { key: "id", relations: {} };

type NestedObject = Readonly<Record<string, unknown>>;

export class StateStore<S> {
  private readonly model: ChannelModel;
  private instances = new Map<InstanceId, FlatInstance>();
  /** For every referenced instance (present or not), the instances whose relations name it. */
  private readonly parentsByChild = new Map<InstanceId, Set<InstanceId>>();
  /** Nested object per instance; an entry exists only while it is up to date. */
  private readonly nestedCache = new Map<InstanceId, NestedObject>();
  /** The instances of a snapshot in progress (between the first `instances` and `ready`). */
  private pendingSnapshot: Map<InstanceId, FlatInstance> | null = null;
  /** The roots of `state`, in order: one for a single-anchor channel; null before the first `ready`. */
  private anchorIds: InstanceId[] | null = null;
  private readonly list: boolean;
  private appliedVersion: number | null = null;
  private currentState: S | null = null;
  /** Pending optimistic writes, laid over `instances` when nested objects are built. */
  private readonly overlay: WriteOverlay;
  private writer: Writer | null = null;
  /** Per writable type, the prototype that gives its nested objects `save` and `delete`. */
  private readonly prototypes = new Map<string, object>();

  constructor(model: ChannelModel) {
    this.model = model;
    this.list = model.list === true;
    this.overlay = new WriteOverlay(model);
  }

  /** Where the `save`/`delete`/`create` methods of nested objects send their writes. */
  setWriter(writer: Writer): void {
    this.writer = writer;
  }

  /** Shows a write at once, before the server answers; returns the token to drop it with. */
  addWrite(request: WriteRequest): number {
    const { token, touched } = this.overlay.add(request);
    this.invalidate(touched);
    this.rebuildState();
    return token;
  }

  /**
   * Drops a write the server answered. On success its delta already arrived; on rejection
   * the view returns to the server's latest value.
   */
  dropWrite(token: number): void {
    this.invalidate(this.overlay.drop(token));
    this.rebuildState();
  }

  /**
   * The nested state built from the anchor, or null before the first `ready` or after the
   * anchor was deleted. For a list channel, the array of the listed anchors' nested objects
   * in list order, skipping anchors whose instance is absent; a new array only when one of
   * its elements changed.
   */
  get state(): S | null {
    return this.currentState;
  }

  /** The `v` of the last applied `ready` or `delta` (for a list channel, the highest `v` seen since `ready`). */
  get version(): number | null {
    return this.appliedVersion;
  }

  /**
   * The `last_version` to resume from after a reconnect, or null to ask for the full state.
   * A list channel never resumes: the server's resume covers one anchor's history.
   */
  get resumeVersion(): number | null {
    return this.list ? null : this.appliedVersion;
  }

  /** Sizes of the internal maps, for tests and debugging: each is bounded by the instances held. */
  stats(): { instances: number; referencedInstances: number; cachedObjects: number } {
    return {
      instances: this.instances.size,
      referencedInstances: this.parentsByChild.size,
      cachedObjects: this.nestedCache.size,
    };
  }

  /** Starts collecting a new snapshot; what was collected before and not completed is dropped. */
  beginSnapshot(): void {
    this.pendingSnapshot = new Map();
  }

  /**
   * A `resume` message: the server answers a reconnect with what changed since the
   * version this store held. The snapshot in progress starts from what is held, minus
   * what left, and the `instances` and `ready` that follow complete it; `ready` then
   * swaps it in at once, like a full state.
   */
  beginResume(deleted: readonly InstanceRef[]): void {
    const next = new Map(this.instances);
    for (const ref of deleted) next.delete(instanceId(ref._type, ref.key));
    this.pendingSnapshot = next;
  }

  /** An `instances` message. After a `ready` it starts a new snapshot (a resync). */
  receiveInstances(instances: readonly FlatInstance[]): void {
    this.pendingSnapshot ??= new Map();
    for (const instance of instances) {
      const id = this.idOf(instance);
      if (id !== null) this.pendingSnapshot.set(id, instance);
    }
  }

  /**
   * A `ready` message: the collected snapshot replaces everything held so far.
   * Instances that are equal to the ones held keep their nested objects, so a
   * resync after a reconnect re-renders only what changed while offline.
   * `anchor` is one ref for a single-anchor channel and the ordered list for a list
   * channel; the other kind does not fit the model, and the message is ignored
   * (returns false).
   */
  completeSnapshot(version: number, anchor: InstanceRef | readonly InstanceRef[]): boolean {
    const anchors = "_type" in anchor ? [anchor] : anchor;
    if ("_type" in anchor === this.list) return false;
    const next = this.pendingSnapshot ?? new Map<InstanceId, FlatInstance>();
    this.pendingSnapshot = null;

    const touched: InstanceId[] = [];
    for (const id of this.instances.keys()) {
      if (!next.has(id)) {
        this.removeInstance(id);
        touched.push(id);
      }
    }
    for (const [id, instance] of next) {
      const held = this.instances.get(id);
      if (held === undefined || !jsonEqual(held, instance)) {
        this.putInstance(id, instance);
        touched.push(id);
      }
    }
    // Swap in the snapshot's own map so that nothing of the old one stays reachable.
    this.instances = next;

    this.invalidate(touched);
    this.anchorIds = anchors.map((ref) => instanceId(ref._type, ref.key));
    this.appliedVersion = version;
    this.rebuildState();
    return true;
  }

  /**
   * A `delta` message. Returns false when it was ignored: it is not newer than
   * the last applied version, or it arrived while a snapshot is incomplete.
   *
   * A list channel applies every delta after `ready`, whatever its `v`: the frames for
   * the different anchors of one event share a `v`, and those of different anchors
   * interleave. There a deleted instance that a held instance still lists stays (another
   * anchor may show it; its parent's own update comes in this frame or a later one), and
   * whatever no listed anchor reaches any more is dropped.
   */
  applyDelta(version: number, instances: readonly FlatInstance[], deleted: readonly InstanceRef[]): boolean {
    if (this.pendingSnapshot !== null || this.appliedVersion === null) return false;
    if (!this.list && version <= this.appliedVersion) return false;
    const touched: InstanceId[] = [];
    // Whether something may have become unreachable: a deletion, or a relation that lost a child.
    let unlinked = deleted.length > 0;
    for (const instance of instances) {
      const id = this.idOf(instance);
      if (id === null) continue;
      const previous = this.instances.get(id);
      if (this.list && previous !== undefined && !unlinked) unlinked = this.dropsChild(previous, instance);
      this.putInstance(id, instance);
      touched.push(id);
    }
    for (const ref of deleted) {
      const id = instanceId(ref._type, ref.key);
      if (this.list && this.parentsByChild.has(id)) continue;
      if (this.removeInstance(id)) touched.push(id);
    }
    if (this.list && unlinked) touched.push(...this.collectUnreachable());
    this.invalidate(touched);
    this.appliedVersion = Math.max(version, this.appliedVersion);
    this.rebuildState();
    return true;
  }

  /**
   * An `anchors` message of a list channel: the complete new list, with the full state of
   * the anchors it adds. Returns false when it was ignored: the channel is not a list, or
   * no snapshot is complete (the one in progress brings the list with its `ready`).
   */
  applyAnchors(anchors: readonly InstanceRef[], instances: readonly FlatInstance[]): boolean {
    if (!this.list || this.pendingSnapshot !== null || this.anchorIds === null) return false;
    const touched: InstanceId[] = [];
    for (const instance of instances) {
      const id = this.idOf(instance);
      if (id === null) continue;
      this.putInstance(id, instance);
      touched.push(id);
    }
    this.anchorIds = anchors.map((ref) => instanceId(ref._type, ref.key));
    touched.push(...this.collectUnreachable());
    this.invalidate(touched);
    this.rebuildState();
    return true;
  }

  /** The nested object of one instance: the same object that appears inside `state`. */
  getInstance(type: string, key: Key): NestedObject | null {
    return this.build(instanceId(type, key), new Set());
  }

  private typeModel(type: string): TypeModel {
    return this.model.types[type] ?? DEFAULT_TYPE_MODEL;
  }

  private idOf(instance: FlatInstance): InstanceId | null {
    const key = instance[this.typeModel(instance._type).key];
    return isKey(key) ? instanceId(instance._type, key) : null;
  }

  private putInstance(id: InstanceId, instance: FlatInstance): void {
    const previous = this.instances.get(id);
    if (previous !== undefined) this.unlinkChildren(id, previous);
    this.instances.set(id, instance);
    for (const childId of this.childIds(instance)) {
      let parents = this.parentsByChild.get(childId);
      if (parents === undefined) {
        parents = new Set();
        this.parentsByChild.set(childId, parents);
      }
      parents.add(id);
    }
  }

  /** Whether `next` no longer lists a child that `previous` listed, which may leave that child unreachable. */
  private dropsChild(previous: FlatInstance, next: FlatInstance): boolean {
    const kept = new Set(this.childIds(next));
    for (const childId of this.childIds(previous)) {
      if (!kept.has(childId)) return true;
    }
    return false;
  }

  /**
   * Forgets the instances that no listed anchor reaches through relations (the server's
   * instances, not the pending writes); returns them. Their parents are unreachable too
   * and go with them, so no edge to them stays in the reverse index.
   */
  private collectUnreachable(): InstanceId[] {
    const reached = new Set<InstanceId>();
    const queue = [...(this.anchorIds ?? [])];
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      if (reached.has(id)) continue; // also guards against cycles in the data
      reached.add(id);
      const instance = this.instances.get(id);
      if (instance !== undefined) queue.push(...this.childIds(instance));
    }
    const unreachable = [...this.instances.keys()].filter((id) => !reached.has(id));
    for (const id of unreachable) this.removeInstance(id);
    return unreachable;
  }

  /**
   * Forgets an instance. Parents that still list it keep their edges to it, so
   * they are invalidated and rebuilt without it (a dangling key is skipped).
   */
  private removeInstance(id: InstanceId): boolean {
    const previous = this.instances.get(id);
    if (previous === undefined) return false;
    this.unlinkChildren(id, previous);
    this.instances.delete(id);
    return true;
  }

  private unlinkChildren(parentId: InstanceId, parent: FlatInstance): void {
    for (const childId of this.childIds(parent)) {
      const parents = this.parentsByChild.get(childId);
      if (parents === undefined) continue;
      parents.delete(parentId);
      // Drop empty entries so the index never outgrows the references that exist.
      if (parents.size === 0) this.parentsByChild.delete(childId);
    }
  }

  private *childIds(instance: FlatInstance): Generator<InstanceId> {
    for (const [field, relation] of Object.entries(this.typeModel(instance._type).relations)) {
      for (const key of relationKeys(relation, instance[field])) {
        yield instanceId(relation.type, key);
      }
    }
  }

  /** Drops the cached nested objects of the given instances and of all their ancestors. */
  private invalidate(ids: Iterable<InstanceId>): void {
    const queue = [...ids];
    const seen = new Set<InstanceId>();
    for (let id = queue.pop(); id !== undefined; id = queue.pop()) {
      if (seen.has(id)) continue; // also guards against cycles in the data
      seen.add(id);
      this.nestedCache.delete(id);
      const parents = this.parentsByChild.get(id);
      if (parents !== undefined) queue.push(...parents);
    }
  }

  private rebuildState(): void {
    const anchorIds = this.anchorIds;
    if (anchorIds === null) {
      this.currentState = null;
    } else if (!this.list) {
      this.currentState = anchorIds[0] === undefined ? null : (this.build(anchorIds[0], new Set()) as S | null);
    } else {
      const roots: NestedObject[] = [];
      for (const id of anchorIds) {
        const root = this.build(id, new Set());
        if (root !== null) roots.push(root); // an anchor without its instance is skipped
      }
      // The array keeps its identity while every element does (useSyncExternalStore compares it).
      const held = this.currentState as readonly NestedObject[] | null;
      const same = held?.length === roots.length && roots.every((root, index) => root === held[index]);
      if (!same) this.currentState = Object.freeze(roots) as S;
    }
  }

  /**
   * Returns the cached nested object or builds it from the flat instance.
   * `path` holds the instances being built above this one: a relation back to one
   * of them is a cycle (which a tree should never have) and is cut instead of
   * recursing forever.
   */
  private build(id: InstanceId, path: Set<InstanceId>): NestedObject | null {
    const cached = this.nestedCache.get(id);
    if (cached !== undefined) return cached;
    const server = this.instances.get(id);
    const instance = this.overlay.size === 0 ? server : this.overlay.view(id, server);
    if (instance === undefined || path.has(id)) return null;

    path.add(id);
    const typeModel = this.typeModel(instance._type);
    const relations = typeModel.relations;
    const owner = { id, key: instance[typeModel.key], type: instance._type };
    const fields: [string, unknown][] = [];
    for (const [field, value] of Object.entries(instance)) {
      if (METADATA_FIELDS.has(field)) continue;
      const relation = relations[field];
      fields.push([field, relation === undefined ? value : this.resolveRelation(relation, value, path, owner, field)]);
    }
    // A relation the server left out still gets its empty value, as the interfaces declare it.
    for (const [field, relation] of Object.entries(relations)) {
      if (!Object.hasOwn(instance, field)) fields.push([field, this.resolveRelation(relation, undefined, path, owner, field)]);
    }
    path.delete(id);

    // fromEntries defines own properties, so even a field named `__proto__` stays plain data.
    const entries = Object.fromEntries(fields);
    const prototype = this.prototypeOf(instance._type, typeModel.key);
    const nested: NestedObject = Object.freeze(
      prototype === null ? entries : (Object.create(prototype, Object.getOwnPropertyDescriptors(entries)) as NestedObject),
    );
    this.nestedCache.set(id, nested);
    return nested;
  }

  /** The prototype with `save`/`delete` for a writable type, or null. */
  private prototypeOf(type: string, keyField: string): object | null {
    const write = this.overlay.writeModel(type);
    if (write === undefined || (!write.save && !write.delete)) return null;
    let prototype = this.prototypes.get(type);
    if (prototype === undefined) {
      const send = (request: WriteRequest): Promise<unknown> =>
        this.writer === null ? Promise.reject(new Error("this store has no writer")) : this.writer(request);
      const methods: { save?: (patch: Readonly<Record<string, unknown>>) => Promise<void>; delete?: () => Promise<void> } = {};
      if (write.save) {
        methods.save = function save(this: Record<string, unknown>, patch: Readonly<Record<string, unknown>>): Promise<void> {
          return send({ op: "save", _type: type, key: this[keyField] as Key, fields: patch }).then(() => undefined);
        };
      }
      if (write.delete) {
        methods.delete = function remove(this: Record<string, unknown>): Promise<void> {
          return send({ op: "delete", _type: type, key: this[keyField] as Key }).then(() => undefined);
        };
      }
      prototype = Object.freeze(methods);
      this.prototypes.set(type, prototype);
    }
    return prototype;
  }

  private resolveRelation(
    relation: RelationModel,
    value: unknown,
    path: Set<InstanceId>,
    owner: { readonly id: InstanceId; readonly key: unknown; readonly type: string },
    field: string,
  ): unknown {
    if (relation.cardinality === "many") {
      const children: NestedObject[] = [];
      const pending = this.overlay.size > 0;
      const keys = relationKeys(relation, value);
      if (pending) {
        for (const added of this.overlay.appended(owner.id, field)) {
          if (!keys.includes(added.key)) keys.push(added.key);
        }
      }
      for (const key of keys) {
        const childId = instanceId(relation.type, key);
        if (pending) {
          const flat = this.overlay.view(childId, this.instances.get(childId));
          if (flat !== undefined && !this.overlay.listedUnder(flat, owner.key, field)) continue;
        }
        const child = this.build(childId, path);
        if (child !== null) children.push(child); // a key without an instance is skipped
      }
      const write = this.overlay.writeModel(relation.type);
      if (write?.create === true && write.parent?.type === owner.type && write.parent.relation === field && isKey(owner.key)) {
        const parent = owner.key;
        const type = relation.type;
        Object.defineProperty(children, "create", {
          value: (data: Readonly<Record<string, unknown>>): Promise<Key> =>
            this.writer === null
              ? Promise.reject(new Error("this store has no writer"))
              : this.writer({ op: "create", _type: type, parent, fields: data }).then((reply) => createdKey(reply)),
        });
      }
      return Object.freeze(children);
    }
    // `one` and `optional`: a missing instance reads as null rather than crashing.
    return isKey(value) ? this.build(instanceId(relation.type, value), path) : null;
  }
}

/** The key in a create's reply, `{"key": 42}`. */
function createdKey(reply: unknown): Key {
  const key = typeof reply === "object" && reply !== null ? (reply as { key?: unknown }).key : undefined;
  if (!isKey(key)) throw new Error("the server's reply to a create holds no key");
  return key;
}

function relationKeys(relation: RelationModel, value: unknown): Key[] {
  if (relation.cardinality === "many") return Array.isArray(value) ? value.filter(isKey) : [];
  return isKey(value) ? [value] : [];
}

/** Deep equality of JSON values, used to keep unchanged instances across a resync. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, index) => jsonEqual(item, b[index]));
  }
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const aKeys = Object.keys(aRecord);
  if (aKeys.length !== Object.keys(bRecord).length) return false;
  return aKeys.every((key) => Object.hasOwn(bRecord, key) && jsonEqual(aRecord[key], bRecord[key]));
}
