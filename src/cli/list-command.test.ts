import { describe, expect, it } from "vitest";
import {
  ALL_HOSTILE,
  HOSTILE_TEXT,
  rawControlsIn,
} from "../../test/support/fixtures/hostile-text.js";
import type { FoundBottle } from "../backend/backend.js";
import { bottleListJson, bottleNamed, formatBottleList } from "./list-command.js";

const found = (slug: string): FoundBottle => ({
  slug,
  project: `claude-bottle-${slug}`,
  containers: [],
  networks: [],
  stateDir: null,
  metadata: null,
  attached: false,
});

describe("bottleNamed", () => {
  const bottles = [found("dev-1a2b"), found("ci-9f8e")];

  it("finds a bottle by its slug", () => {
    expect(bottleNamed(bottles, "ci-9f8e").project).toBe("claude-bottle-ci-9f8e");
  });

  it("names the nearest slug and how to list them when there is none", () => {
    expect(() => bottleNamed(bottles, "dev-1a2c")).toThrow(
      'no bottle "dev-1a2c" (did you mean "dev-1a2b"?)',
    );
  });
});

describe("formatBottleList", () => {
  it("names the agent of a bottle left behind without its state, from its slug", () => {
    const text = formatBottleList([found("review-bot-3f9a1c2e")]);
    expect(text).toMatch(/^review-bot-3f9a1c2e\s+review-bot \(no state\)\s+no containers\s/m);
    expect(text).not.toContain("?");
  });
});

describe("list output holds no raw control character", () => {
  const hostile: FoundBottle = {
    slug: `dev${HOSTILE_TEXT["CSI clear screen"]}`,
    project: `claude-bottle-${ALL_HOSTILE}`,
    containers: [
      {
        name: "x",
        service: `agent${HOSTILE_TEXT["RLO display spoof"]}`,
        state: "running",
        status: ALL_HOSTILE,
      },
    ],
    networks: [ALL_HOSTILE],
    stateDir: `/h/${ALL_HOSTILE}`,
    metadata: {
      agent: ALL_HOSTILE,
      bottle: ALL_HOSTILE,
      createdAt: "2030-01-01T00:00:00.000Z",
    } as FoundBottle["metadata"],
    attached: false,
  };

  it("the table shows labels and state-dir values escaped, one row per bottle", () => {
    const text = formatBottleList([hostile, found("ok-1")]);
    expect(rawControlsIn(text, { newline: true })).toEqual([]);
    const rows = text.trimEnd().split("\n");
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^deva\\x1b\[2J\\x1b\[Hb /);
    expect(rows[1]).toContain("agentfix\\u202etxt.exe");
  });

  it("--json is valid JSON of the same values, every control escaped", () => {
    const json = bottleListJson([hostile]);
    expect(rawControlsIn(json, { newline: true })).toEqual([]);
    expect(JSON.parse(json)).toMatchObject([
      { slug: hostile.slug, agent: ALL_HOSTILE, stateDir: hostile.stateDir },
    ]);
  });

  it("a missing slug and its nearest match are shown escaped", () => {
    expect(() => bottleNamed([hostile], "deva\x1b[2J\x1b[H")).toThrow(
      'no bottle "deva\\x1b[2J\\x1b[H" (did you mean "deva\\x1b[2J\\x1b[Hb"?)',
    );
  });
});
