// Optimistic writes: pending browser writes as an overlay over the server's instances.
//
// The store keeps the server's flat instances untouched and lays the pending writes over
// them when it builds nested objects. A write shows at once; when the server answers, the
// overlay entry is dropped: on success the server's delta (sent before the reply) already
// holds the change, on rejection the view falls back to the server's latest value (not a
// snapshot taken when the write started), and a deleted instance reappears where the
// server's list still has it.
import type { WriteRequest } from "./protocol";
import type { ChannelModel, FlatInstance, Key, WriteModel } from "./types";

/** `${_type}:${key}`, as in the store. */
type InstanceId = string;

function instanceId(type: string, key: Key): InstanceId {
  return `${type}:${String(key)}`;
}

/** One pending write, as the overlay holds it. */
type Pending =
  | {
      readonly op: "save";
      readonly id: InstanceId;
      readonly type: string;
      readonly key: Key;
      readonly fields: Readonly<Record<string, unknown>>;
      /** The new parent, when the save moves the instance. */
      readonly moveTo: InstanceId | null;
    }
  | { readonly op: "create"; readonly id: InstanceId; readonly key: Key; readonly instance: FlatInstance; readonly parent: InstanceId; readonly relation: string }
  | { readonly op: "delete"; readonly id: InstanceId };

let nextTemporaryKey = 1;

/** The pending writes of one channel view, in the order they were made. */
export class WriteOverlay {
  private readonly model: ChannelModel;
  private readonly pending = new Map<number, Pending>();
  private nextToken = 1;

  constructor(model: ChannelModel) {
    this.model = model;
  }

  get size(): number {
    return this.pending.size;
  }

  writeModel(type: string): WriteModel | undefined {
    return this.model.writes?.[type];
  }

  /** Adds a write; returns its token and the instances whose nested objects it changes. */
  add(request: WriteRequest): { token: number; touched: InstanceId[] } {
    const token = this.nextToken++;
    const entry = this.entry(request);
    this.pending.set(token, entry);
    return { token, touched: this.touchedBy(entry) };
  }

  /** Drops a write (answered either way); returns the instances it had changed. */
  drop(token: number): InstanceId[] {
    const entry = this.pending.get(token);
    if (entry === undefined) return [];
    this.pending.delete(token);
    return this.touchedBy(entry);
  }

  /** The instance as the browser should see it: the server's value with pending writes laid over it. */
  view(id: InstanceId, server: FlatInstance | undefined): FlatInstance | undefined {
    let instance = server;
    for (const entry of this.pending.values()) {
      if (entry.id !== id) continue;
      if (entry.op === "delete") return undefined;
      if (entry.op === "create") instance ??= entry.instance;
      if (entry.op === "save" && instance !== undefined) instance = { ...instance, ...entry.fields };
    }
    return instance;
  }

  /** Keys that pending writes add to a parent's relation list: created instances and moved ones. */
  appended(parentId: InstanceId, relation: string): { type: string; key: Key }[] {
    const out: { type: string; key: Key }[] = [];
    for (const entry of this.pending.values()) {
      if (entry.op === "create" && entry.parent === parentId && entry.relation === relation) {
        out.push({ type: entry.instance._type, key: entry.key });
      } else if (entry.op === "save" && entry.moveTo === parentId && this.writeModel(entry.type)?.parent?.relation === relation) {
        out.push({ type: entry.type, key: entry.key });
      }
    }
    return out;
  }

  /**
   * Whether a child listed in a parent's relation is shown there: a pending move elsewhere
   * hides it (it shows in its new parent's list instead).
   */
  listedUnder(child: FlatInstance, parentKey: unknown, relation: string): boolean {
    const model = this.writeModel(child._type);
    if (model?.parent?.relation !== relation) return true;
    const value = child[model.parent.field];
    return value === undefined || value === parentKey;
  }

  private entry(request: WriteRequest): Pending {
    switch (request.op) {
      case "save": {
        const parent = this.writeModel(request._type)?.parent ?? null;
        const moved = parent !== null ? request.fields[parent.field] : undefined;
        const moveTo = parent !== null && isKeyValue(moved) ? instanceId(parent.type, moved) : null;
        return { op: "save", id: instanceId(request._type, request.key), type: request._type, key: request.key, fields: request.fields, moveTo };
      }
      case "delete":
        return { op: "delete", id: instanceId(request._type, request.key) };
      case "create": {
        const write = this.writeModel(request._type);
        const parent = write?.parent;
        if (parent === undefined || parent === null) throw new Error(`${request._type} has no parent to create under`);
        const type = this.model.types[request._type];
        const keyField = type?.key ?? "id";
        // A key no server key can equal, so the temporary instance never shadows a real one.
        const key = `~pending-${String(nextTemporaryKey++)}`;
        const fields: Record<string, unknown> = {};
        for (const [field, relation] of Object.entries(type?.relations ?? {})) {
          fields[field] = relation.cardinality === "many" ? [] : null;
        }
        Object.assign(fields, request.fields, { [keyField]: key, [parent.field]: request.parent });
        const instance: FlatInstance = { ...fields, _type: request._type, _v: 0 };
        return {
          op: "create",
          id: instanceId(request._type, key),
          key,
          instance,
          parent: instanceId(parent.type, request.parent),
          relation: parent.relation,
        };
      }
    }
  }

  private touchedBy(entry: Pending): InstanceId[] {
    if (entry.op === "create") return [entry.id, entry.parent];
    if (entry.op === "save" && entry.moveTo !== null) return [entry.id, entry.moveTo];
    return [entry.id];
  }
}

function isKeyValue(value: unknown): value is Key {
  return typeof value === "number" || typeof value === "string";
}
