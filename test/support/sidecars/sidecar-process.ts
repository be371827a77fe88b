// A sidecar bundled as its image carries it (one .mjs, no node_modules beside it) and run as
// a real process on loopback, with nothing of the test's environment but PATH. Every process
// a test starts is killed after it; the bundle's directory goes after the file.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "vitest";
import { bundleForNode } from "./bundle.js";

export interface SidecarProcess {
  child: ChildProcess;
  /** The exit code (null for a signal). */
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
}

export interface SidecarBundle {
  /** The bundle's directory, the processes' working directory; set in beforeAll. */
  readonly dir: string;
  run(args: string[], env: Record<string, string>): SidecarProcess;
}

/** Call at a test file's top level: bundles `entry` (a path from the package root) once. */
export function useSidecarBundle(entry: string, name: string): SidecarBundle {
  let dir: string | undefined;
  let bundle = "";
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `${name}-bundle-`));
    bundle = join(dir, `${name}.mjs`);
    await bundleForNode(entry, bundle);
  }, 60_000);
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
    }
  });
  afterAll(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  const ready = () => {
    if (dir === undefined) throw new Error(`the ${name} bundle is built in beforeAll`);
    return dir;
  };
  return {
    get dir() {
      return ready();
    },
    run(args, env) {
      const child = spawn(process.execPath, [bundle, ...args], {
        cwd: ready(),
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
        stdio: ["ignore", "pipe", "pipe"],
      });
      children.push(child);
      let stdout = "";
      let stderr = "";
      child.stdout?.on("data", (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr?.on("data", (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = once(child, "exit").then(([code]) => code as number | null);
      return { child, exited, output: () => ({ stdout, stderr }) };
    },
  };
}
