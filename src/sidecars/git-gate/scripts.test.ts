// The shell scripts cannot import the constants: check they spell the same paths, parse,
// and are executable (a pre-receive hook git cannot execute is silently skipped).
import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  GIT_GATE_ACCESS_HOOK_IN_CONTAINER,
  GIT_GATE_ALLOWLIST_IN_CONTAINER,
  GIT_GATE_CREDS_DIR_IN_CONTAINER,
  GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE,
  GIT_GATE_HOOK_IN_CONTAINER,
  GIT_GATE_PORT,
  GIT_GATE_SCRIPTS,
  GIT_GATE_UPSTREAMS_IN_CONTAINER,
} from "./constants.js";

const source = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const text = (name: string) => readFileSync(source(name), "utf8");
const dirOf = (path: string) => path.replace(/\/[^/]*$/, "");

describe.each(Object.values(GIT_GATE_SCRIPTS))("%s", (name) => {
  it("is executable and parses as POSIX sh", () => {
    expect(statSync(source(name)).mode & 0o111).toBe(0o111);
    expect(text(name).startsWith("#!/bin/sh\n")).toBe(true);
    execFileSync("sh", ["-n", source(name)]);
  });
});

describe("paths shared with the constants", () => {
  it("entrypoint", () => {
    const script = text(GIT_GATE_SCRIPTS.entrypointScript);
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
    const script = text(GIT_GATE_SCRIPTS.hookScript);
    expect(script).toContain(`GITLEAKS_CONFIG=${GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE}\n`);
    expect(script).toContain(`ALLOWLIST=${GIT_GATE_ALLOWLIST_IN_CONTAINER}\n`);
  });

  it("the image builds the gitleaks config where the hook reads it", () => {
    const dockerfile = readFileSync(
      fileURLToPath(new URL("../../../images/git-gate.Dockerfile", import.meta.url)),
      "utf8",
    );
    expect(dockerfile).toContain(`out=${GIT_GATE_GITLEAKS_CONFIG_IN_IMAGE};`);
  });
});
