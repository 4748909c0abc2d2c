// Where the page's token and board come from: `?token=` (kept in
// sessionStorage, then dropped from the address bar) and `?board=`.

const TOKEN_KEY = "rxd-board-token";

/** Takes `?token=` from the URL into sessionStorage; returns the session's token. */
export function takeToken(): string | null {
  const params = new URLSearchParams(window.location.search);
  const fromUrl = params.get("token")?.trim();
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete("token");
    window.history.replaceState(window.history.state, "", urlWith(params));
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** `?board=N` as a positive integer, else null. */
export function boardFromUrl(): number | null {
  const raw = new URLSearchParams(window.location.search).get("board");
  if (raw === null || !/^\d+$/.test(raw)) return null;
  const id = Number(raw);
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}

/** Puts `?board=N` in the address bar (a new history entry). */
export function pushBoard(boardId: number | null): void {
  const params = new URLSearchParams(window.location.search);
  if (boardId === null) params.delete("board");
  else params.set("board", String(boardId));
  window.history.pushState(null, "", urlWith(params));
}

function urlWith(params: URLSearchParams): string {
  const query = params.toString();
  return `${window.location.pathname}${query === "" ? "" : `?${query}`}${window.location.hash}`;
}
