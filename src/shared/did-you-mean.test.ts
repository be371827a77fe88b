import { describe, expect, it } from "vitest";
import { closestMatch, didYouMean, editDistance } from "./did-you-mean.js";

describe("editDistance", () => {
  it.each([
    ["", "", 0],
    ["egres", "egress", 1],
    ["dve", "dev", 1],
    ["kitten", "sitting", 3],
    ["abc", "", 3],
  ])("%s → %s is %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe("closestMatch", () => {
  const keys = ["extends", "env", "egress", "git", "supervise", "runtime", "agent"];

  it("suggests the nearest key within a distance that grows with the word", () => {
    expect(closestMatch("egres", keys)).toBe("egress");
    expect(closestMatch("suprevise", keys)).toBe("supervise");
    expect(closestMatch("gti", keys)).toBe("git");
  });

  it("treats case, '-' and '_' as the same key", () => {
    expect(closestMatch("tokenEnv", ["scheme", "token_env"])).toBe("token_env");
    expect(closestMatch("Known-Host-Key", ["known_host_key"])).toBe("known_host_key");
  });

  it("suggests nothing when nothing is close", () => {
    expect(closestMatch("colour", keys)).toBeUndefined();
    expect(didYouMean("colour", keys)).toBe("");
    expect(didYouMean("agnet", keys)).toBe(' (did you mean "agent"?)');
  });
});
