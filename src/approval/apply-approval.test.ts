import { readFile, stat } from "node:fs/promises";
import { beforeEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  composeOn,
  makeSupervisedBottle,
  PIPELOCK_YAML,
  RecordingDocker,
} from "../../test/support/sidecars/supervise-fixture.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { addAllowLine, addAllowPattern, allowPatternFor, applyApproval } from "./apply-approval.js";
import type { SupervisedBottle } from "./supervised-bottle.js";

describe("pipelock policy edits", () => {
  it.each([
    { host: "api.example.test", port: null, pattern: "api.example.test" },
    { host: "api.example.test", port: 8443, pattern: "api.example.test:8443" },
    { host: "2001:db8::1", port: 443, pattern: "[2001:db8::1]:443" },
  ])("spells $host port $port as $pattern, as pipelock reads it", ({ host, port, pattern }) => {
    expect(allowPatternFor(host, port)).toBe(pattern);
  });

  it("adds to allow and keeps every other key and the comments", () => {
    const { text, added } = addAllowPattern(PIPELOCK_YAML, "api.example.test:8443", "p.yaml");
    expect(added).toBe(true);
    expect(text).toContain("# staged by prepare");
    expect(parse(text)).toEqual({
      allow: ["api.github.com", "*.githubusercontent.com", "api.example.test:8443"],
      dlp: { action: "block", secretEnv: ["PIPELOCK_SECRET_0"] },
      supervise: { enabled: true },
    });
  });

  it("changes nothing for a pattern already there", () => {
    expect(addAllowPattern(PIPELOCK_YAML, "API.github.com", "p.yaml")).toEqual({
      text: PIPELOCK_YAML,
      added: false,
    });
  });

  it("creates allow when the policy has none", () => {
    expect(parse(addAllowPattern("dlp: { action: warn }\n", "a.test", "p.yaml").text)).toEqual({
      dlp: { action: "warn" },
      allow: ["a.test"],
    });
    expect(parse(addAllowPattern("", "a.test", "p.yaml").text)).toEqual({ allow: ["a.test"] });
  });

  it("refuses a file that is not a policy", () => {
    expect(() => addAllowPattern("allow: [a\n", "p.yaml", "p.yaml")).toThrow(
      "p.yaml does not parse as pipelock's policy",
    );
    expect(() => addAllowPattern("allow: yes\n", "a.test", "p.yaml")).toThrow(
      'p.yaml: "allow" is not a list',
    );
  });

  it("adds one allowlist line once", () => {
    expect(addAllowLine("", "f1")).toEqual({ text: "f1\n", added: true });
    expect(addAllowLine("f1", "f2")).toEqual({ text: "f1\nf2\n", added: true });
    expect(addAllowLine("f1\nf2\n", "f2")).toEqual({ text: "f1\nf2\n", added: false });
  });
});

describe("applyApproval", () => {
  const home = tempDirPerTest("cb-apply-");
  let bottle: SupervisedBottle;
  beforeEach(async () => {
    bottle = await makeSupervisedBottle(home());
  });

  it("rewrites pipelock's policy on the same inode, then sends it SIGHUP", async () => {
    const before = (await stat(bottle.pipelockConfig)).ino;
    const docker = new RecordingDocker();
    const changes = await applyApproval({ backendOf: composeOn(docker) }, bottle, {
      kind: "egress-host",
      host: "api.example.test",
      port: null,
    });
    expect(changes).toEqual(["added api.example.test to pipelock's allowlist"]);
    expect((await stat(bottle.pipelockConfig)).ino).toBe(before);
    expect(parse(await readFile(bottle.pipelockConfig, "utf8")).allow).toContain(
      "api.example.test",
    );
    expect(docker.calls).toEqual([["kill", "-s", "HUP", "claude-bottle-pipelock-demo-7f3a"]]);
  });

  it("says so when pipelock could not be signalled, and still applies", async () => {
    const changes = await applyApproval({ backendOf: composeOn(new RecordingDocker(1)) }, bottle, {
      kind: "egress-host",
      host: "api.example.test",
      port: 8443,
    });
    expect(changes).toEqual([
      "added api.example.test:8443 to pipelock's allowlist",
      "could not signal claude-bottle-pipelock-demo-7f3a to reload (Error response from daemon: container is not running); it reloads when it sees the file change",
    ]);
  });

  it("refuses a host that is not in normal form, whatever the queue says", async () => {
    await expect(
      applyApproval({ backendOf: composeOn(new RecordingDocker()) }, bottle, {
        kind: "egress-host",
        host: "evil.test\nallow: ['*']",
        port: null,
      }),
    ).rejects.toThrow("refusing to apply");
    expect(await readFile(bottle.pipelockConfig, "utf8")).toBe(PIPELOCK_YAML);
  });

  it("appends exactly the fingerprint to the gate's allowlist, once", async () => {
    const fingerprint = "0123456789abcdef0123456789abcdef01234567:test/fixture.pem:private-key:1";
    const docker = new RecordingDocker();
    const request = { kind: "gitleaks-exception" as const, fingerprint };
    expect(await applyApproval({ backendOf: composeOn(docker) }, bottle, request)).toEqual([
      `added ${fingerprint} to the git gate's gitleaks allowlist (read on every push)`,
    ]);
    expect(await applyApproval({ backendOf: composeOn(docker) }, bottle, request)).toEqual([
      `${fingerprint} was already on the git gate's gitleaks allowlist`,
    ]);
    expect(await readFile(bottle.gitleaksAllowFile, "utf8")).toBe(`${fingerprint}\n`);
    expect(docker.calls).toEqual([]);
  });
});
