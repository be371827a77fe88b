import { describe, expect, it } from "vitest";
import { readSuperviseSettings } from "./supervise-settings.js";

const base = { SUPERVISE_BOTTLE_SLUG: "demo-1a2b", SUPERVISE_QUEUE_DIR: "/queue" };

describe("readSuperviseSettings", () => {
  it("reads the slug and queue, with the default port and answer timeout", () => {
    expect(readSuperviseSettings(base)).toEqual({
      slug: "demo-1a2b",
      queueDir: "/queue",
      port: 8765,
      answerTimeoutMs: 600_000,
    });
    expect(
      readSuperviseSettings({
        ...base,
        SUPERVISE_PORT: "9000",
        SUPERVISE_ANSWER_TIMEOUT_SECONDS: "2.5",
      }),
    ).toMatchObject({ port: 9000, answerTimeoutMs: 2500 });
  });

  it.each([
    [{ SUPERVISE_QUEUE_DIR: "/queue" }, "SUPERVISE_BOTTLE_SLUG is not set"],
    [{ SUPERVISE_BOTTLE_SLUG: "demo-1a2b" }, "SUPERVISE_QUEUE_DIR is not set"],
    [{ ...base, SUPERVISE_PORT: "70000" }, "SUPERVISE_PORT must be a port number"],
    [{ ...base, SUPERVISE_PORT: "80.5" }, "SUPERVISE_PORT must be a port number"],
    [
      { ...base, SUPERVISE_ANSWER_TIMEOUT_SECONDS: "-1" },
      "SUPERVISE_ANSWER_TIMEOUT_SECONDS must be a positive number of seconds",
    ],
    [
      { ...base, SUPERVISE_ANSWER_TIMEOUT_SECONDS: "soon" },
      "SUPERVISE_ANSWER_TIMEOUT_SECONDS must be a positive number of seconds",
    ],
  ])("refuses %j: %s", (env, message) => {
    expect(() => readSuperviseSettings(env)).toThrow(message);
  });
});
