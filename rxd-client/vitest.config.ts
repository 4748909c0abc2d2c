import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.{ts,tsx}"],
    // Hook tests opt into jsdom with a `@vitest-environment jsdom` comment.
    environment: "node",
  },
});
