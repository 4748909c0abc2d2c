// What the page shows, from its address: `?token=` (kept in sessionStorage,
// then dropped from the address bar) and `?pattern=` (default
// `sensors/+/temperature`).

const TOKEN_KEY = "rxd-iot-token";

export interface Session {
  token: string | null;
  pattern: string;
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
  return {
    token: fromUrl ?? sessionStorage.getItem(TOKEN_KEY),
    pattern: params.get("pattern") ?? "sensors/+/temperature",
  };
}
