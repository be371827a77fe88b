import { describe, expect, it } from "vitest";
import type { FoundBottle } from "../backend/docker/discover-bottles.js";
import { bottleNamed } from "./list-command.js";

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
