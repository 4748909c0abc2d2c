// What the page shows, from its address: `?token=` (kept in sessionStorage,
// then dropped from the address bar) and `?room=N` (default 1).

const TOKEN_KEY = "rxd-chat-token";

export interface Session {
  token: string | null;
  roomId: number;
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
  const rawRoom = params.get("room");
  const roomId = rawRoom !== null && /^\d+$/.test(rawRoom) ? Number(rawRoom) : 1;
  return {
    token: fromUrl ?? sessionStorage.getItem(TOKEN_KEY),
    roomId: Number.isSafeInteger(roomId) && roomId > 0 ? roomId : 1,
  };
}
