// Runs the built claude-bottle CLI as a real process, as a user would, against a home
// directory of the test's own.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { backendCliEnv } from "../docker/test-backend.js";
import { withOutput } from "./process-output.js";

export const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
export const CLI = join(PACKAGE_ROOT, "dist/cli/main.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TestHome {
  home: string;
  env: NodeJS.ProcessEnv;
  writeManifest(kind: "agents" | "bottles", name: string, text: string): Promise<void>;
  run(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliResult>;
  /** `run`, failing with the command's output unless it exits with code 0. */
  runOk(args: string[], extraEnv?: NodeJS.ProcessEnv): Promise<CliResult>;
  spawn(args: string[], extraEnv?: NodeJS.ProcessEnv): ChildProcess & { output: () => CliResult };
  dispose(): Promise<void>;
}

export async function makeTestHome(): Promise<TestHome> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  const home = await mkdtemp(join(tmpdir(), "cb-home-"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CLAUDE_BOTTLE_HOME: home,
    // Stand-in upstreams live on Docker's private networks.
    CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS: "1",
    // Where bottles run: this engine under Compose, or the swarm fixture.
    ...backendCliEnv(),
  };
  const spawnCli = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...env, ...extraEnv },
      cwd: home,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return withOutput(child);
  };
  const run = (args: string[], extraEnv?: NodeJS.ProcessEnv) => {
    const child = spawnCli(args, extraEnv);
    return new Promise<CliResult>((resolve) => {
      child.on("close", (code) => resolve({ ...child.output(), code }));
    });
  };
  return {
    home,
    env,
    async writeManifest(kind, name, text) {
      await mkdir(join(home, kind), { recursive: true });
      await writeFile(join(home, kind, `${name}.md`), text);
    },
    run,
    async runOk(args, extraEnv) {
      return expectExit(args, await run(args, extraEnv), 0);
    },
    spawn: spawnCli,
    async dispose() {
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** `result`, or an error carrying the command, its exit code and all it wrote. */
export function expectExit(args: string[], result: CliResult, code: number): CliResult {
  if (result.code === code) return result;
  throw new Error(
    `claude-bottle ${args.join(" ")} exited with ${result.code}, not ${code}:\n--- stderr\n${result.stderr}--- stdout\n${result.stdout}`,
  );
}

/**
 * Writes bottle `name`
 (its front matter, without the `---` lines) and an agent of the same
 * name that uses it, through `home.writeManifest` (so a home that owns its files keeps them).
 */
export async function writeAgentBottle(
  home: Pick<TestHome, "writeManifest">,
  name: string,
  frontMatter: string,
): Promise<void> {
  await home.writeManifest("bottles", name, `---\n${frontMatter.trim()}\n---\n`);
  await home.writeManifest("agents", name, `---\nbottle: ${name}\n---\nagent\n`);
}

/** The bottle's slug from the preflight `start` prints ("instance  <slug>"). */
export function slugOf(stderr: string): string {
  const match = /instance\s+(\S+)/.exec(stderr);
  if (!match?.[1]) throw new Error(`no instance line in:\n${stderr}`);
  return match[1];
}
