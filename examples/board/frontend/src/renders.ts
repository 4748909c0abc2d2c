// A commit counter per component instance, read by the browser test to check
// that an unchanged card or column does not re-render when another one changes.

declare global {
  interface Window {
    __boardRenders?: Record<string, number>;
  }
}

/** Counts the commits of the calling component under `name` in `window.__boardRenders`. */
export function recordRender(name: string): void {
  const counts = (window.__boardRenders ??= {});
  counts[name] = (counts[name] ?? 0) + 1;
}
