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
// Engine suites that must hold on every backend, run a second time with their bottles on the
// three-node swarm fixture (test/support/docker/test-backend.ts); the project's globalSetup
// starts the fixture once for all of them and removes it after (npm test runs them alone).
const SWARM_SUITES = [
  "test/egress-plane/*.test.ts",
  "test/supervise/supervise-bottle.test.ts",
  "test/escape/network-reach.test.ts",
  "test/lifecycle/start-faults.test.ts",
];
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
      {
        test: {
          name: "swarm-suites",
          include: SWARM_SUITES,
          exclude: [COMPONENT],
          env: { CLAUDE_BOTTLE_TEST_BACKEND: "swarm" },
          globalSetup: ["test/support/swarm/swarm-suites-setup.ts"],
          ...engineTests,
        },
      },
      { test: { name: "engine-restart", include: [ENGINE_RESTART], ...engineTests } },
    ],
  },
});
