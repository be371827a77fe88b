// The real agent programs for the real-binary tests, from npm through a cache on the host
// (fetched once with `npm pack`, kept unpacked), and put into a running agent container
// as root. Nothing here is committed; the pinned versions are the ones the stand-in was
// proved against.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { docker } from "../git-gate-docker.js";

const run = promisify(execFile);

export type AgentProgram = "claude" | "codex" | "gemini";

export const AGENT_PACKAGES: Record<AgentProgram, string> = {
  claude: "@anthropic-ai/claude-code-linux-x64@2.1.336",
  codex: "@openai/codex@0.171.0-linux-x64",
  gemini: "@google/gemini-cli@0.61.0",
};

function cacheDir(): string {
  return (
    process.env.CLAUDE_BOTTLE_TEST_AGENT_PACKAGES ??
    join(homedir(), ".cache", "claude-bottle-test", "agent-packages")
  );
}

/** The unpacked package directory ("…/package") for `program`, fetched once. */
export async function agentPackage(program: AgentProgram): Promise<string> {
  const spec = AGENT_PACKAGES[program];
  const dir = join(cacheDir(), spec.replace(/[@/]/g, "_"));
  const unpacked = join(dir, "package");
  if (existsSync(join(dir, ".complete"))) return unpacked;
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await run("npm", ["pack", "--silent", "--pack-destination", dir, spec], {
    timeout: 600_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const tarball = (await readdir(dir)).find((f) => f.endsWith(".tgz"));
  if (tarball === undefined) throw new Error(`npm pack ${spec} left no tarball in ${dir}`);
  await run("tar", ["xzf", join(dir, tarball), "-C", dir]);
  await rm(join(dir, tarball));
  await run("touch", [join(dir, ".complete")]);
  return unpacked;
}

/** Puts `program` on the agent's PATH in `container` (as root; the agent cannot change it). */
export async function installAgentProgram(container: string, program: AgentProgram): Promise<void> {
  const pkg = await agentPackage(program);
  const asRoot = (script: string) => docker(["exec", "-u", "0", container, "sh", "-c", script]);
  switch (program) {
    case "claude":
      await docker(["cp", join(pkg, "claude"), `${container}:/usr/local/bin/claude`]);
      await asRoot("chown root:root /usr/local/bin/claude && chmod 755 /usr/local/bin/claude");
      return;
    case "codex": {
      const bin = join(pkg, "vendor/x86_64-unknown-linux-musl/bin/codex");
      await docker(["cp", bin, `${container}:/usr/local/bin/codex`]);
      await asRoot("chown root:root /usr/local/bin/codex && chmod 755 /usr/local/bin/codex");
      return;
    }
    case "gemini":
      await asRoot("mkdir -p /opt/gemini-cli");
      await docker(["cp", `${pkg}/.`, `${container}:/opt/gemini-cli`]);
      await asRoot(
        "chown -R root:root /opt/gemini-cli && chmod -R a+rX /opt/gemini-cli && " +
          `printf '#!/bin/sh\\nexec node /opt/gemini-cli/bundle/gemini.js "$@"\\n' >/usr/local/bin/gemini && ` +
          "chmod 755 /usr/local/bin/gemini",
      );
      return;
  }
}
