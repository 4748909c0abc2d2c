// The board's REST API (examples/board/src/api.rs): every write commits its
// transaction and a hub batch, and the change reaches every open board view
// through its channel, so the callers never update local state themselves.
import type { Card } from "./generated/board.interfaces";

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

export function createCard(token: string, columnId: number, title: string): Promise<Card> {
  return request<Card>(token, "POST", "/api/cards", { column_id: columnId, title });
}

export function renameCard(token: string, cardId: number, title: string): Promise<Card> {
  return request<Card>(token, "PATCH", `/api/cards/${cardId}`, { title });
}

export function moveCard(token: string, cardId: number, columnId: number): Promise<Card> {
  return request<Card>(token, "PATCH", `/api/cards/${cardId}`, { column_id: columnId });
}

export function deleteCard(token: string, cardId: number): Promise<void> {
  return request<undefined>(token, "DELETE", `/api/cards/${cardId}`);
}

/** A message for any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
