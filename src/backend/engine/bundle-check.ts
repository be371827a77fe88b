// Checks every object of a bundle the agent handed back before any of it enters the user's
// repository. `git fetch` from a bundle does not honour transfer.fsckObjects (git 2.39 lets a
// commit with a malformed author through), so the bundle's pack is indexed with
// `index-pack --strict` in a scratch repository of our own first: a malformed object, a
// broken pack or a bundle that leans on objects it does not carry (a thin one) is refused.
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BottleError } from "../../shared/errors.js";

/** A bundle's header is a few lines a ref: more than this is not a header. */
const MAX_HEADER_BYTES = 1024 * 1024;

/** Where the pack starts in `bundle`, after its header; refuses a bundle with prerequisites. */
export async function bundlePackOffset(bundle: string): Promise<number> {
  const handle = await open(bundle, "r");
  try {
    const buffer = Buffer.alloc(MAX_HEADER_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const head = buffer.subarray(0, bytesRead);
    const end = head.indexOf("\n\n");
    if (!/^# v[23] git bundle\n/.test(head.subarray(0, 20).toString("latin1")) || end < 0) {
      throw new BottleError("the agent's bundle is not a git bundle");
    }
    const lines = head.subarray(0, end).toString("utf8").split("\n").slice(1);
    if (lines.some((line) => line.startsWith("-"))) {
      throw new BottleError(
        "the agent's bundle needs objects it does not carry (a thin bundle): refused",
      );
    }
    return end + 2;
  } finally {
    await handle.close();
  }
}

/** Throws a BottleError unless every object in `bundle` passes git's strict checks. */
export async function checkBundleObjects(bundle: string): Promise<void> {
  const offset = await bundlePackOffset(bundle);
  const scratch = await mkdtemp(join(tmpdir(), "cb-bundle-check-"));
  try {
    await runGit(["init", "-q", "--bare", scratch]);
    await runGit(["-C", scratch, "index-pack", "--strict", "--stdin"], {
      stdin: () => createReadStream(bundle, { start: offset }),
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function runGit(
  args: string[],
  options: { stdin?: () => NodeJS.ReadableStream } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("git", args, {
      stdio: [options.stdin ? "pipe" : "ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (t: string) => {
      stderr = (stderr + t).slice(-4096);
    });
    if (options.stdin && child.stdin) {
      const source = options.stdin();
      // git stops reading at a bad object: its closed stdin is not our error, its exit is.
      child.stdin.on("error", () => {});
      source.pipe(child.stdin);
    }
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else {
        const why = stderr.trim().split("\n").pop() ?? `exit code ${code}`;
        reject(new BottleError(`the agent's commits fail git's object checks: ${why}`));
      }
    });
  });
}
