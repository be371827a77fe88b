// Test support for the manifest tests: throwaway user homes in a temp directory, so that
// messages show "~/.claude-bottle/…" exactly as a user sees them. Not used by the CLI.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { InputError } from "../shared/errors.js";
import type { ManifestOptions } from "./manifest-paths.js";

export const BOTTLES = ".claude-bottle/bottles";
export const AGENTS = ".claude-bottle/agents";

export interface UserHomes {
  /** A fresh user home holding `files` (paths relative to it); options point at it. */
  make(files: Record<string, string>): Promise<ManifestOptions & { userHome: string }>;
  /** Removes every home made. */
  cleanup(): Promise<void>;
}

export async function userHomes(): Promise<UserHomes> {
  const root = await mkdtemp(join(tmpdir(), "claude-bottle-manifest-"));
  return {
    async make(files) {
      const userHome = await mkdtemp(join(root, "home-"));
      for (const [path, text] of Object.entries(files)) {
        await mkdir(dirname(join(userHome, path)), { recursive: true });
        await writeFile(join(userHome, path), text);
      }
      return { env: { HOME: userHome }, userHome };
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** The InputError `promise` rejects with; fails the test on anything else. */
export async function inputError(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof InputError)) throw new Error(`expected an InputError, got ${error}`);
  return error;
}
