// Every command that needs the engine says so in one line when none answers, with the fix,
// instead of the docker command line that happened to find out (or a stack trace).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../support/cli/cli-process.js";

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "cb-engine-down-"));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe.runIf(existsSync(CLI))("with no engine answering", () => {
  it.each([
    ["list"],
    ["list", "--json"],
    ["info", "some-slug"],
    ["stop", "some-slug"],
    ["cleanup", "--yes"],
    ["resume", "some-slug"],
  ])("`claude-bottle %s` says so, with the fix", (...args) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        CLAUDE_BOTTLE_HOME: home,
        DOCKER_HOST: `unix://${join(home, "no-engine.sock")}`,
        CLAUDE_BOTTLE_BACKEND: "compose",
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.stderr).toMatch(/^claude-bottle: no Docker engine answers \(Cannot connect/m);
    expect(r.stderr).toMatch(
      /hint: start the Docker engine, then retry \(on Debian 12, sudo bash '?\/\S+\/scripts\/setup-host\.sh'? installs and starts one\)/,
    );
    expect(r.stderr).not.toContain("--format");
    expect(r.stderr).not.toContain("    at ");
    expect(r.stdout).toBe("");
    expect(r.status).toBe(1);
  });
});
