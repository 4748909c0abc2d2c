// Messages of docs/PROTOCOL.md and their validation.
import type { FlatInstance, InstanceRef, Key, ServerError, SystemLevel } from "./types";

export type ServerMessage =
  | { readonly type: "instances"; readonly instances: readonly FlatInstance[] }
  | { readonly type: "ready"; readonly v: number; readonly anchor: InstanceRef }
  /** The `ready` of a list channel: its anchors in order, possibly none. */
  | { readonly type: "ready"; readonly v: number; readonly anchors: readonly InstanceRef[] }
  /** A list channel's list changed: the complete new list, and the full state of the anchors added. */
  | { readonly type: "anchors"; readonly anchors: readonly InstanceRef[]; readonly instances: readonly FlatInstance[] }
  | { readonly type: "resume"; readonly from: number; readonly deleted: readonly InstanceRef[] }
  | {
      readonly type: "delta";
      readonly v: number;
      readonly instances: readonly FlatInstance[];
      readonly deleted: readonly InstanceRef[];
    }
  | { readonly type: "error"; readonly error: ServerError }
  | { readonly type: "reply"; readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly type: "reply"; readonly id: number; readonly ok: false; readonly error: ServerError }
  | { readonly type: "runtime"; readonly state: unknown }
  | { readonly type: "system"; readonly level: SystemLevel; readonly message: string }
  | { readonly type: "pong" };

/** A browser write (docs/PROTOCOL.md, "Writes"), without its `type` and `id`. */
export type WriteRequest =
  | { readonly op: "save"; readonly _type: string; readonly key: Key; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly op: "create"; readonly _type: string; readonly parent: Key; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly op: "delete"; readonly _type: string; readonly key: Key };

export type ClientMessage =
  | { readonly type: "auth"; readonly token: string; readonly last_version?: number }
  | { readonly type: "call"; readonly id: number; readonly action: string; readonly args: readonly unknown[] }
  | ({ readonly type: "write"; readonly id: number } & WriteRequest)
  | { readonly type: "ping" };

/** A parsed JSON object whose fields are not checked yet; every field is optional and unknown. */
type Unchecked<Field extends string> = Partial<Readonly<Record<Field, unknown>>>;
type UncheckedMessage = Unchecked<
  "type" | "v" | "from" | "instances" | "anchor" | "anchors" | "deleted" | "code" | "message" | "details" | "id" | "result" | "error" | "state" | "level"
>;
type UncheckedInstance = Unchecked<"_type" | "_v" | "key">;

function isObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSystemLevel(value: unknown): value is SystemLevel {
  return value === "info" || value === "warning" || value === "maintenance";
}

export function isKey(value: unknown): value is Key {
  return typeof value === "number" || typeof value === "string";
}

function isFlatInstance(value: unknown): value is FlatInstance {
  if (!isObject(value)) return false;
  const fields: UncheckedInstance = value;
  return typeof fields._type === "string" && typeof fields._v === "number";
}

function toInstanceRef(value: unknown): InstanceRef | null {
  if (!isObject(value)) return null;
  const fields: UncheckedInstance = value;
  if (typeof fields._type !== "string" || !isKey(fields.key)) return null;
  return { _type: fields._type, key: fields.key };
}

/**
 * An ordered list of anchors, all or nothing: dropping a malformed entry would silently
 * shorten the list the state is built from, so one bad entry rejects the message.
 */
function toInstanceRefs(value: unknown): InstanceRef[] | null {
  if (!Array.isArray(value)) return null;
  const refs: InstanceRef[] = [];
  for (const entry of value) {
    const ref = toInstanceRef(entry);
    if (ref === null) return null;
    refs.push(ref);
  }
  return refs;
}

/** Keeps the well-formed entries of a list; a malformed entry must not poison the rest. */
function validEntries<T>(value: unknown, convert: (entry: unknown) => T | null): T[] {
  if (!Array.isArray(value)) return [];
  const entries: T[] = [];
  for (const entry of value) {
    const converted = convert(entry);
    if (converted !== null) entries.push(converted);
  }
  return entries;
}

const asFlatInstance = (entry: unknown): FlatInstance | null => (isFlatInstance(entry) ? entry : null);

function toServerError(value: object): ServerError {
  const fields: Unchecked<"code" | "message" | "details"> = value;
  return {
    code: typeof fields.code === "string" ? fields.code : "unknown",
    message: typeof fields.message === "string" ? fields.message : "",
    ...(isObject(fields.details) ? { details: fields.details as Readonly<Record<string, unknown>> } : {}),
  };
}

/**
 * Parses one text frame. Returns null for anything this client does not understand:
 * malformed frames, and message types added by later protocol versions (which a
 * version 1 client is allowed to ignore).
 */
export function parseServerMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null; // binary frames are not part of the protocol
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(parsed)) return null;
  const message: UncheckedMessage = parsed;

  switch (message.type) {
    case "instances":
      return { type: "instances", instances: validEntries(message.instances, asFlatInstance) };
    case "ready": {
      if (typeof message.v !== "number") return null;
      // Exactly one of `anchor` (a single-anchor channel) and `anchors` (a list channel).
      if ("anchors" in message) {
        const anchors = "anchor" in message ? null : toInstanceRefs(message.anchors);
        return anchors === null ? null : { type: "ready", v: message.v, anchors };
      }
      const anchor = toInstanceRef(message.anchor);
      return anchor === null ? null : { type: "ready", v: message.v, anchor };
    }
    case "anchors": {
      const anchors = toInstanceRefs(message.anchors);
      if (anchors === null) return null;
      return { type: "anchors", anchors, instances: validEntries(message.instances, asFlatInstance) };
    }
    case "resume":
      if (typeof message.from !== "number") return null;
      return { type: "resume", from: message.from, deleted: validEntries(message.deleted, toInstanceRef) };
    case "delta":
      if (typeof message.v !== "number") return null;
      return {
        type: "delta",
        v: message.v,
        instances: validEntries(message.instances, asFlatInstance),
        deleted: validEntries(message.deleted, toInstanceRef),
      };
    case "error":
      return { type: "error", error: toServerError(message) };
    case "reply": {
      if (typeof message.id !== "number") return null;
      if (isObject(message.error)) return { type: "reply", id: message.id, ok: false, error: toServerError(message.error) };
      if (!("result" in message)) return null;
      return { type: "reply", id: message.id, ok: true, result: message.result };
    }
    case "runtime":
      return "state" in message ? { type: "runtime", state: message.state } : null;
    case "system":
      if (!isSystemLevel(message.level) || typeof message.message !== "string") return null;
      return { type: "system", level: message.level, message: message.message };
    case "pong":
      return { type: "pong" };
    default:
      return null;
  }
}
