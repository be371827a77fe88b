// The policy in force: the config file plus the secret values read from pipelock's own
// environment. Built whole at start and at each reload, then swapped in one assignment, so a
// request sees either the old policy or the new one, never a mix.

import { createHostSecretMatcher, type HostSecretMatcher } from "../../shared/dlp/host-forms.js";
import {
  createDlpScanner,
  createScanWorkerPool,
  type DlpScanner,
  type KnownSecret,
  type ScanResult,
  type ScanTarget,
  type ScanWorkerPool,
} from "../../shared/dlp/index.js";
import { type Allowlist, compileAllowlist, type NormalizedHost } from "./allowlist.js";
import type { PipelockConfig } from "./config.js";
import { SentWindow } from "./sent-window.js";

export interface Policy {
  config: PipelockConfig;
  allowlist: Allowlist;
  /** Hosts only GET and HEAD may reach (config.readOnly). */
  readOnly: Allowlist;
  scanner: DlpScanner;
  /** The bottle's secrets in the forms a host name can carry them. */
  hostSecrets: HostSecretMatcher;
  /** Names of the secrets host:port may receive. */
  secretsAllowedTo(host: NormalizedHost, port: number): ReadonlySet<string>;
  /**
   * Scans a whole request. A body from SCAN_IN_WORKER_BYTES up goes to a worker thread (when the
   * policy has one) and its buffer with it: forward the result's `body`, not the target's.
   */
  scanRequest(target: ScanTarget, allowedSecrets: ReadonlySet<string>): Promise<ScanResult>;
  /** Known-secret pieces the bottle sent, joined over its requests (kept across reloads). */
  sentWindow: SentWindow;
  /** Problems worth a line on stderr: env vars that are unset or too short. */
  warnings: string[];
  /** Ends this policy's scan workers once their scans are done (it was replaced, or closing). */
  retire(): Promise<void>;
}

export interface PolicyOptions {
  /** Entry module for DLP scan workers (pipelock's bundle); without it every scan is inline. */
  scanWorkerEntry?: URL | undefined;
  /** Defaults to the process's one window: pipelock serves one bottle, and a reload keeps it. */
  sentWindow?: SentWindow;
}

const BOTTLE_WINDOW = new SentWindow();

/** Below this a scan costs less than the hand-off to a worker (about 0.1 ms at 64 KiB). */
export const SCAN_IN_WORKER_BYTES = 64 * 1024;

export function buildPolicy(
  config: PipelockConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
  options: PolicyOptions = {},
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
  const scannerOptions = {
    knownSecrets: secrets,
    // Decoding may grow a body: allow some room past the wire limit, but bounded.
    maxDecodedBytes: config.maxBodyBytes * 4,
  };
  const scanner = createDlpScanner(scannerOptions);
  const entry = options.scanWorkerEntry;
  // Started at the first large body: a bottle that never sends one never starts a thread.
  let pool: ScanWorkerPool | undefined;
  for (const skipped of scanner.skippedSecrets) {
    warnings.push(`secret env ${skipped.name} is ${skipped.reason}; DLP ignores its value`);
  }
  return {
    config,
    allowlist: compileAllowlist(config.allow),
    readOnly: compileAllowlist(config.readOnly),
    scanner,
    hostSecrets: createHostSecretMatcher(secrets),
    secretsAllowedTo(host, port) {
      return new Set(grants.filter((g) => g.allowlist.match(host, port)).map((g) => g.name));
    },
    scanRequest(target, allowedSecrets) {
      const size = target.body?.bytes.length ?? 0;
      if (entry === undefined || size < SCAN_IN_WORKER_BYTES) {
        const verdict = scanner.scan(target, { allowedSecrets });
        return Promise.resolve({ verdict, body: target.body?.bytes });
      }
      pool ??= createScanWorkerPool({ entry, scanner: scannerOptions });
      return pool.scan(target, allowedSecrets);
    },
    sentWindow: options.sentWindow ?? BOTTLE_WINDOW,
    warnings,
    retire: () => pool?.close() ?? Promise.resolve(),
  };
}
