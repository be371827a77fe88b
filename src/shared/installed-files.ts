// Where the package's own files are, wherever it is installed (npm's global prefix, a clone),
// so that hints name files the user has: the docs and the host setup script ship with it.
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { shellCommandLine } from "./terminal-text.js";

/** The package root: two levels up from src/shared/ and from dist/shared/ alike. */
export const PACKAGE_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

/** The documents `claude-bottle docs` shows, by topic: docs/<topic>.md. */
export const DOCS_DIR = join(PACKAGE_ROOT, "docs");

/** The command that installs and starts a Docker engine, Compose v2 and gitleaks on Debian. */
export function setupHostCommand(root = PACKAGE_ROOT): string {
  return shellCommandLine(["sudo", "bash", join(root, "scripts", "setup-host.sh")]);
}

/** Where to read about `topic`: the command that prints it. */
export function docsHint(topic: string, section?: string): string {
  return `\`claude-bottle docs ${topic}\`${section === undefined ? "" : ` (${section})`}`;
}
