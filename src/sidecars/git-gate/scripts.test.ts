// The shell scripts cannot import the constants: check they spell the same paths, parse,
// and are executable (a pre-receive hook git cannot execute is silently skipped).
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  GIT_GATE_ACCESS_HOOK_IN_CONTAINER,
  GIT_GATE_ALLOWLIST_IN_CONTAINER,
  GIT_GATE_BOTTLE_RULES_IN_CONTAINER,
  GIT_GATE_CREDS_DIR_IN_CONTAINER,
  GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE,
  GIT_GATE_HOOK_IN_CONTAINER,
  GIT_GATE_PORT,
  GIT_GATE_SCANNER_IN_IMAGE,
  GIT_GATE_SCRIPTS,
  GIT_GATE_UPSTREAMS_IN_CONTAINER,
} from "../../contracts/git-gate.js";

import { type GitGateScript, gitGateScriptSource } from "./scripts.js";

const SCRIPTS = Object.keys(GIT_GATE_SCRIPTS) as GitGateScript[];
const text = (script: GitGateScript) => readFileSync(gitGateScriptSource(script), "utf8");
const dirOf = (path: string) => path.replace(/\/[^/]*$/, "");

describe.each(SCRIPTS)("%s", (script) => {
  it("is executable and parses as POSIX sh", () => {
    const path = gitGateScriptSource(script);
    expect(path.endsWith(`/src/sidecars/git-gate/${GIT_GATE_SCRIPTS[script]}`)).toBe(true);
    expect(statSync(path).mode & 0o111).toBe(0o111);
    expect(text(script).startsWith("#!/bin/sh\n")).toBe(true);
    execFileSync("sh", ["-n", path]);
  });
});

describe("paths shared with the constants", () => {
  it("entrypoint", () => {
    const script = text("entrypointScript");
    expect(script).toContain(`CONFIG=${GIT_GATE_UPSTREAMS_IN_CONTAINER}\n`);
    expect(script).toContain(`CREDS_DIR=${GIT_GATE_CREDS_DIR_IN_CONTAINER}\n`);
    expect(script).toContain(`HOOKS_DIR=${dirOf(GIT_GATE_HOOK_IN_CONTAINER)}\n`);
    expect(dirOf(GIT_GATE_ACCESS_HOOK_IN_CONTAINER)).toBe(dirOf(GIT_GATE_HOOK_IN_CONTAINER));
    expect(script).toContain("for hook in pre-receive access-hook; do");
    expect(GIT_GATE_HOOK_IN_CONTAINER.endsWith("/pre-receive")).toBe(true);
    expect(GIT_GATE_ACCESS_HOOK_IN_CONTAINER.endsWith("/access-hook")).toBe(true);
    expect(script).toContain(`PORT=${GIT_GATE_PORT}\n`);
  });

  it("pre-receive", () => {
    const script = text("hookScript");
    expect(script).toContain(`GITLEAKS_CONFIG=${GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE}\n`);
    expect(script).toContain(`ALLOWLIST=${GIT_GATE_ALLOWLIST_IN_CONTAINER}\n`);
    expect(script).toContain(`PUSH_SCAN=${GIT_GATE_SCANNER_IN_IMAGE}\n`);
    expect(script).toContain(`if [ -r ${GIT_GATE_BOTTLE_RULES_IN_CONTAINER} ]`);
  });

  it("entrypoint writes the bottle's rules where the push scan reads them", () => {
    const script = text("entrypointScript");
    expect(GIT_GATE_BOTTLE_RULES_IN_CONTAINER).toBe("/var/lib/git-gate/gitleaks-bottle.toml");
    expect(script).toContain("STATE_DIR=/var/lib/git-gate\n");
    expect(script).toContain("rules=$STATE_DIR/gitleaks-bottle.toml\n");
  });

  it("the image builds the gitleaks config where the hook reads it", () => {
    const dockerfile = readFileSync(
      fileURLToPath(new URL("../../../images/git-gate.Dockerfile", import.meta.url)),
      "utf8",
    );
    expect(dockerfile).toContain(`out=${GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE};`);
    expect(dockerfile).toContain(`COPY dist/sidecars/git-gate.mjs ${GIT_GATE_SCANNER_IN_IMAGE}\n`);
  });
});
