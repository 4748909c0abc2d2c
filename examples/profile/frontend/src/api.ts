// The users resource (examples/profile/src/api.rs), typed with the generated
// REST types. A successful write needs no local update: the server commits a
// hub batch, and the change comes back through the channel like anyone else's.
import type { ErrorBody, UserField, UserPatchInput, ValidationErrors } from "./generated/profile.api";
import type { User } from "./generated/profile.interfaces";

/** Field errors by field, as a 400 carries them. */
export type FieldErrors = ValidationErrors["errors"];

/** A refused request: its status, its error code, and a 400's field errors. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldErrors;

  constructor(status: number, code: string, fields: FieldErrors = {}) {
    const details = Object.entries(fields)
      .map(([field, problem]) => `${field} ${problem}`)
      .join(", ");
    super(details === "" ? `${code} (HTTP ${status})` : `${code}: ${details}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  /** The message for one field, or for the body as a whole. */
  fieldError(field: UserField): string | null {
    return this.fields[field] ?? this.fields.non_field_errors ?? null;
  }
}

const FIELDS: readonly UserField[] = ["first_name", "last_name", "email", "non_field_errors"];

/** The body of a refusal, checked: a 400's `errors`, else `error`. */
async function errorOf(response: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    return new ApiError(response.status, response.statusText || "error");
  }
  if (response.status === 400 && typeof body === "object" && body !== null && "errors" in body) {
    const { errors } = body as ValidationErrors;
    const fields: FieldErrors = {};
    for (const field of FIELDS) {
      const problem: unknown = errors[field];
      if (typeof problem === "string") fields[field] = problem;
    }
    return new ApiError(400, "invalid", fields);
  }
  const code: unknown = typeof body === "object" && body !== null && "error" in body ? (body as ErrorBody).error : null;
  return new ApiError(response.status, typeof code === "string" && code !== "" ? code : response.statusText || "error");
}

/** `PATCH /api/users/{id}/`: changes the fields in `patch`; resolves with the user as it now is. */
export async function patchUser(token: string, id: number, patch: UserPatchInput): Promise<User> {
  let response: Response;
  try {
    response = await fetch(`/api/users/${encodeURIComponent(String(id))}/`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify(patch),
    });
  } catch (error) {
    throw new ApiError(0, error instanceof Error ? `network error: ${error.message}` : "network error");
  }
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as User;
}
