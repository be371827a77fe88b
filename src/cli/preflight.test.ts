import { describe, expect, it } from "vitest";
import { formatPreflight, type Preflight } from "./preflight.js";

const base: Preflight = {
  agent: "a",
  agentFile: "~/.claude-bottle/agents/a.md",
  bottle: "b",
  bottleChain: ["b"],
  slug: "a-1a2b",
  runtimeImage: "claude-bottle/agent:0.1.0",
  isolation: "runc",
  allow: ["api.example.test"],
  wildcardLabels: { maxLength: 40, randomMinLength: 16 },
  routes: [],
  env: [],
  git: [],
  dlp: "block",
  privateUpstreams: false,
  supervise: false,
};

describe("formatPreflight", () => {
  it("states the label bound under a wildcard, and only when one is allowed", () => {
    expect(formatPreflight(base)).not.toContain("under *");
    const text = formatPreflight({
      ...base,
      allow: ["api.example.test", "*.cdn.example.test"],
      wildcardLabels: { maxLength: 24, randomMinLength: 12 },
    });
    expect(text).toContain(
      "hosts     api.example.test, *.cdn.example.test\n          under *: labels of at most 24 characters; those of 12 or more must not read as encoded data\n",
    );
  });

  it("shows each registry, where its address came from, and that it is read-only", () => {
    expect(formatPreflight(base)).not.toContain("registry");
    const text = formatPreflight({
      ...base,
      registries: [
        {
          registry: "npm",
          url: "https://registry.npm.test/",
          source: "npm config get registry",
          hosts: ["registry.npm.test"],
        },
      ],
    });
    expect(text).toContain(
      "registry  npm https://registry.npm.test/ (from npm config get registry)\n          read-only: GET and HEAD to registry.npm.test, every request scanned by DLP; installed code runs in the bottle\nDLP       block\n",
    );
  });
});
