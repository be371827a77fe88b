// An agent program comes from the host's npm, once: `fetch` fills the cache with the
// smallest provider (Gemini CLI, one JavaScript bundle), a bottle runs it by name as the
// unprivileged agent user from `--exec`, and a second start fetches and builds nothing.
// Without a cached package a bottle still starts for `--exec`, and the attach launcher
// says how to get the program instead of failing obscurely.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeTestHome, slugOf, type TestHome } from "../support/cli/cli-process.js";
import { leftoversOf, nothingLeft } from "../support/docker/docker-state.js";
import { describeWithEngine } from "../support/docker/engine.js";

const PROBE = [
  "id -u",
  "command -v gemini",
  "gemini --version",
  'echo "ca=$NODE_EXTRA_CA_CERTS proxy=$HTTPS_PROXY"',
  // The program is mounted read-only and its wrapper is root's: the agent can change neither.
  "touch /opt/claude-bottle/agent/x 2>/dev/null && echo package-writable",
  "echo >> /usr/local/bin/gemini 2>/dev/null && echo wrapper-writable",
  "cat ~/.gemini/settings.json",
].join("; ");

describeWithEngine("agent programs from the host's cache", () => {
  let t: TestHome;

  beforeAll(async () => {
    t = await makeTestHome();
    await t.writeManifest("bottles", "gem", "---\nagent: gemini\n---\n");
    await t.writeManifest("agents", "gem", "---\nbottle: gem\n---\nA test agent.\n");
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it("starts without the program for --exec when nothing is cached, and says how to get it", async () => {
    const r = await t.run([
      "start",
      "gem",
      "--yes",
      "--exec",
      "command -v gemini || echo no-gemini; claude-bottle-agent; echo launcher=$?",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/fetching/);
    expect(r.stdout).toContain("no-gemini");
    expect(r.stdout).toContain("launcher=127");
    expect(r.stdout + r.stderr).toContain(
      "Gemini CLI is not in this bottle: it was not in the host's cache when the bottle started; run `claude-bottle fetch gemini` on the host",
    );
    expect(leftoversOf(slugOf(r.stderr))).toEqual(nothingLeft());
  });

  it("fetches with the host's npm, then runs the program by name as the agent user", async () => {
    const fetched = await t.run(["fetch", "gemini", "--json"]);
    expect(fetched.code, fetched.stderr).toBe(0);
    const pkg = JSON.parse(fetched.stdout) as { dir: string; binary: string; version: string };
    expect(pkg.dir).toBe(
      join(t.home, "cache/agents/gemini", `${pkg.version}-linux-${process.arch}`, "package"),
    );
    expect((await stat(pkg.binary)).isFile()).toBe(true);
    const record = JSON.parse(
      await readFile(join(pkg.dir, "..", "claude-bottle-package.json"), "utf8"),
    ) as { integrity: string };
    expect(record.integrity).toMatch(/^sha512-/);

    const first = await t.run(["start", "gem", "--yes", "--exec", PROBE]);
    expect(first.code, first.stderr).toBe(0);
    const lines = first.stdout.split("\n");
    expect(lines[0]).toBe("1000");
    expect(lines[1]).toBe("/usr/local/bin/gemini");
    expect(lines[2]).toBe(pkg.version);
    expect(first.stdout).toContain(
      "ca=/usr/local/share/ca-certificates/claude-bottle.crt proxy=http",
    );
    expect(first.stdout).not.toContain("package-writable");
    expect(first.stdout).not.toContain("wrapper-writable");
    expect(first.stdout).toContain('"httpUrl": "http://supervise:8765/mcp"');
    expect(leftoversOf(slugOf(first.stderr))).toEqual(nothingLeft());

    const cached = (await stat(pkg.binary)).mtimeMs;
    const second = await t.run(["start", "gem", "--yes", "--exec", "gemini --version"]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(pkg.version);
    expect(second.stderr).not.toMatch(/fetching|building image/);
    expect((await stat(pkg.binary)).mtimeMs).toBe(cached);
    expect(leftoversOf(slugOf(second.stderr))).toEqual(nothingLeft());
  });
});
