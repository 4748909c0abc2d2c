import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` serves the app on :5173 and forwards the channel sockets and the operators' API to a
// `iot serve` on :3000. The production build is served by the Rust server
// itself, at the same origin, so no proxy is needed there.
const backend = "http://127.0.0.1:3000";

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      "/ws": { target: backend, ws: true, changeOrigin: true },
      "/api": { target: backend, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
  },
});
