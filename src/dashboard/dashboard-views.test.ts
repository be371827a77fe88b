import { describe, expect, it } from "vitest";
import { bottleMetadata } from "../../test/support/unit/bottle-metadata.js";
import { SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS } from "../contracts/supervise.js";
import { callTimesOutAt, workLanding } from "./dashboard-views.js";
import { PAGE_JS } from "./page-assets.js";

describe("callTimesOutAt", () => {
  it("is supervise's answer timeout after the proposal was filed", () => {
    expect(SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS).toBe(600);
    expect(callTimesOutAt("2030-01-01T00:00:00.000Z")).toBe("2030-01-01T00:10:00.000Z");
  });

  it("is null for a filing time that does not parse", () => {
    expect(callTimesOutAt("yesterday-ish")).toBeNull();
  });
});

describe("workLanding", () => {
  const metadata = bottleMetadata();

  it("is the repository's claude-bottle/<slug>/ branches for a bottle started in one", () => {
    const workspace = {
      repoDir: "/src/app",
      branch: "main",
      head: null,
      branchTips: {},
      originUrl: null,
    };
    expect(
      workLanding("/home/u/.claude-bottle", { slug: "s-1", metadata: { ...metadata, workspace } }),
    ).toEqual({
      into: "repository",
      repoDir: "/src/app",
      branchPrefix: "claude-bottle/s-1/",
      from: "main",
    });
  });

  it("is kept/<slug>/ under the home for one with no repository, unknown without metadata", () => {
    expect(workLanding("/h", { slug: "s-1", metadata: { ...metadata, workspace: null } })).toEqual({
      into: "kept",
      dir: "/h/kept/s-1/",
    });
    expect(workLanding("/h", { slug: "s-1", metadata })).toEqual({
      into: "kept",
      dir: "/h/kept/s-1/",
    });
    expect(workLanding("/h", { slug: "s-1", metadata: null })).toEqual({ into: "unknown" });
  });
});

describe("the page's script", () => {
  it("parses: an escape lost between the TypeScript string and the browser breaks every view", () => {
    expect(() => new Function(PAGE_JS)).not.toThrow();
  });
});
