import { defineConfig } from "vitest/config";

// CI asks for a JSON report beside the console output, to print one summary line.
const jsonReport = process.env.CLAUDE_BOTTLE_TEST_JSON;

export default defineConfig({
  test: {
    reporters: jsonReport ? ["default", ["json", { outputFile: jsonReport }]] : ["default"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["src/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          // Engine tests share one Docker daemon on a 2-core machine: run files one by one.
          fileParallelism: false,
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
