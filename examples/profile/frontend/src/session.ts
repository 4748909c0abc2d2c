// What the page shows, from its address: `?token=` (kept in sessionStorage,
// then dropped from the address bar), `?user=N` and `?edit=first|last`.

const TOKEN_KEY = "rxd-profile-token";

/** Which name this window edits; the other one is read-only. */
export type Editable = "first_name" | "last_name";

export interface Session {
  token: string | null;
  userId: number | null;
  edit: Editable;
}

/** Reads the session from the URL (and sessionStorage for the token). */
export function readSession(): Session {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get("token")?.trim();
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete("token");
    const query = params.toString();
    window.history.replaceState(
      window.history.state,
      "",
      `${window.location.pathname}${query === "" ? "" : `?${query}`}${window.location.hash}`,
    );
  }
  const rawUser = params.get("user");
  const userId = rawUser !== null && /^\d+$/.test(rawUser) ? Number(rawUser) : null;
  return {
    token: fromUrl ?? sessionStorage.getItem(TOKEN_KEY),
    userId: userId !== null && Number.isSafeInteger(userId) && userId > 0 ? userId : null,
    edit: params.get("edit") === "last" ? "last_name" : "first_name",
  };
}
