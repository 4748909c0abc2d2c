// The board's REST API (examples/board/src/api.rs): the list of boards.
// Card writes go through the channel's actions (BoardChannel.renameCard, ...);
// either way the change reaches every open board view through its channel, so
// callers never update local state themselves.
import { ActionError } from "rxd-client";
import type { BoardChannelRenameCardError } from "./generated/board.channels";

/** A board the caller may see, as `GET /api/boards` lists it. */
export interface BoardSummary {
  id: number;
  title: string;
}

/** A failed request: the HTTP status and the server's `{"error": ..., "fields"?: ...}` body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: Readonly<Record<string, string>>;

  constructor(status: number, code: string, fields: Readonly<Record<string, string>> = {}) {
    const details = Object.entries(fields)
      .map(([field, problem]) => `${field} ${problem}`)
      .join(", ");
    super(details === "" ? `${code} (HTTP ${status})` : `${code}: ${details} (HTTP ${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

async function request<T>(token: string, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, error instanceof Error ? `network error: ${error.message}` : "network error");
  }
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: unknown; fields?: unknown };
    const code = typeof body.error === "string" ? body.error : response.statusText;
    const fields: Record<string, string> = {};
    if (typeof body.fields === "object" && body.fields !== null) {
      for (const [field, problem] of Object.entries(body.fields)) fields[field] = String(problem);
    }
    return new ApiError(response.status, code, fields);
  } catch {
    return new ApiError(response.status, response.statusText || "error");
  }
}

export function listBoards(token: string): Promise<BoardSummary[]> {
  return request<BoardSummary[]>(token, "GET", "/api/boards");
}

/**
 * A message for any thrown value. An action's field errors
 * (`details.fields`, as the board's actions send them) are spelled out.
 */
export function messageOf(error: unknown): string {
  if (error instanceof ActionError) {
    // The card actions declare their details (`#[action(details = InvalidFields)]`):
    // the generated alias types them. Client-side errors carry none.
    const fields = (error as BoardChannelRenameCardError).details?.fields;
    if (fields !== undefined) {
      const problems = Object.entries(fields).map(([field, problem]) => `${field} ${problem}`);
      return `${error.code}: ${problems.join(", ")}`;
    }
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
