import { join } from "node:path";
import { defineConfig } from "vitest/config";

// CI asks for JSON reports beside the console output (one file per vitest process, in this
// directory) to print one summary line.
const jsonDir = process.env.CLAUDE_BOTTLE_TEST_JSON_DIR;
// Restarts the Docker engine under everything: runs alone, after the rest (npm test).
const ENGINE_RESTART = "test/faults/engine-restart.test.ts";
// Component tests under test/ that need no engine (in-process sidecars against loopback
// fakes, renderers fed test fixtures): fast, so they run with the unit tests.
const COMPONENT = "test/**/*.unit.test.ts";
const engineTests = {
  // Engine tests share one Docker daemon on a 2-core machine: run files one by one.
  fileParallelism: false,
  testTimeout: 300_000,
  hookTimeout: 300_000,
};

export default defineConfig({
  test: {
    reporters: jsonDir
      ? ["default", ["json", { outputFile: join(jsonDir, `vitest-${process.pid}.json`) }]]
      : ["default"],
    projects: [
      { test: { name: "unit", include: ["src/**/*.test.ts", COMPONENT] } },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [ENGINE_RESTART, COMPONENT],
          ...engineTests,
        },
      },
      { test: { name: "engine-restart", include: [ENGINE_RESTART], ...engineTests } },
    ],
  },
});
