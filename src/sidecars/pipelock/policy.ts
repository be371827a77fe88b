// The policy in force: the config file plus the secret values read from pipelock's own
// environment. Built whole at start and at each reload, then swapped in one assignment, so a
// request sees either the old policy or the new one, never a mix.
import { createDlpScanner, type DlpScanner, type KnownSecret } from "../../shared/dlp/index.js";
import { type Allowlist, compileAllowlist, type NormalizedHost } from "./allowlist.js";
import type { PipelockConfig } from "./config.js";

export interface Policy {
  config: PipelockConfig;
  allowlist: Allowlist;
  scanner: DlpScanner;
  /** Names of the secrets host:port may receive. */
  secretsAllowedTo(host: NormalizedHost, port: number): ReadonlySet<string>;
  /** Problems worth a line on stderr: env vars that are unset or too short. */
  warnings: string[];
}

export function buildPolicy(
  config: PipelockConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Policy {
  const warnings: string[] = [];
  const secrets: KnownSecret[] = [];
  const grants: { name: string; allowlist: Allowlist }[] = [];
  for (const entry of config.dlp.secretEnv) {
    const name = typeof entry === "string" ? entry : entry.env;
    const value = env[name];
    if (value === undefined || value === "") {
      warnings.push(`secret env ${name} is not set; DLP cannot look for its value`);
      continue;
    }
    secrets.push({ name, value });
    if (typeof entry !== "string" && entry.hosts.length > 0) {
      grants.push({ name, allowlist: compileAllowlist(entry.hosts) });
    }
  }
  const scanner = createDlpScanner({
    knownSecrets: secrets,
    // Decoding may grow a body: allow some room past the wire limit, but bounded.
    maxDecodedBytes: config.maxBodyBytes * 4,
  });
  for (const skipped of scanner.skippedSecrets) {
    warnings.push(`secret env ${skipped.name} is ${skipped.reason}; DLP ignores its value`);
  }
  return {
    config,
    allowlist: compileAllowlist(config.allow),
    scanner,
    secretsAllowedTo(host, port) {
      return new Set(grants.filter((g) => g.allowlist.match(host, port)).map((g) => g.name));
    },
    warnings,
  };
}
