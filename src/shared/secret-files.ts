// A sidecar's secrets reach it one of two ways: by name in its environment (Compose copies
// each value from the CLI's own environment at `up`), or, on an engine that must never hold
// a secret in a service's definition (Docker Swarm), as files in /run/secrets named after
// the variable. A sidecar reads its environment through this, so both look the same to it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BottleError } from "./errors.js";

export const SECRET_FILES_DIR = "/run/secrets";
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Far above any token or rule set a bottle holds; a larger file is not a secret we wrote. */
const MAX_SECRET_BYTES = 1024 * 1024;

/**
 * `env` with each file of `dir` whose name is a variable name added as that variable, unless
 * the environment already sets it. A missing directory adds nothing; a file that cannot be
 * read or is too large is an error, never skipped: a secret silently absent would let DLP or
 * the push scan pass what they exist to stop.
 */
export function envWithSecretFiles(
  env: NodeJS.ProcessEnv,
  dir: string = SECRET_FILES_DIR,
): NodeJS.ProcessEnv {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return env;
    throw error;
  }
  const merged = { ...env };
  for (const name of names) {
    if (!ENV_NAME.test(name) || merged[name] !== undefined) continue;
    const path = join(dir, name);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new BottleError(`cannot read the secret file ${path}`, {
        hint: "the engine hands secrets to the sidecar's own user; check the secret's uid and mode",
        cause: error,
      });
    }
    if (bytes.length > MAX_SECRET_BYTES) {
      throw new BottleError(`secret file ${path} is larger than ${MAX_SECRET_BYTES} bytes`);
    }
    merged[name] = bytes.toString("utf8");
  }
  return merged;
}
