// Starts pipelock from its files: policy, CA, optional upstream CA bundle; keeps the policy
// current (reload() on demand, and on every change of the policy file). A bad new policy is
// reported and ignored: the one in force stays.
import { readFile } from "node:fs/promises";
import type { LookupFunction } from "node:net";
import type { Writable } from "node:stream";
import { PIPELOCK_UPSTREAM_CA_FILE_ENV } from "../../contracts/pipelock.js";
import { loadCa, type SigningCa } from "../../shared/ca/index.js";
import { BottleError } from "../../shared/errors.js";
import { type AuditLog, createAuditLog } from "./audit-log.js";
import { loadPipelockConfig } from "./config.js";
import { type ConfigWatcher, watchConfigFile } from "./config-watcher.js";
import { buildPolicy } from "./policy.js";
import { type ProxyServer, startProxyServer } from "./proxy-server.js";

export interface RunPipelockOptions {
  configPath: string;
  listen: { host: string; port: number };
  caCertPath: string;
  caKeyPath: string;
  env?: Readonly<Record<string, string | undefined>>;
  lookup?: LookupFunction;
  now?: () => Date;
  /** Reload when the policy file changes; defaults to true. */
  watch?: boolean;
  /** Where diagnostics go (stderr by default). */
  log?: (line: string) => void;
  /** Audit to this stream instead of the policy's auditLog or stdout (tests). */
  auditStream?: Writable;
  /** The module DLP scan workers run (pipelock's bundle); without it bodies scan inline. */
  scanWorkerEntry?: URL;
}

export interface RunningPipelock {
  server: ProxyServer;
  /** Resolves true when the new policy is in force, false when it was rejected. */
  reload(): Promise<boolean>;
  close(): Promise<void>;
}

export async function runPipelock(options: RunPipelockOptions): Promise<RunningPipelock> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const config = await loadPipelockConfig(options.configPath);
  const policyOptions = { scanWorkerEntry: options.scanWorkerEntry };
  const policy = buildPolicy(config, env, policyOptions);
  for (const warning of policy.warnings) log(`pipelock: ${warning}`);
  const ca = await readCa(options.caCertPath, options.caKeyPath);
  const upstreamCa = await readUpstreamCa(env[PIPELOCK_UPSTREAM_CA_FILE_ENV]);
  const audit: AuditLog = createAuditLog(
    options.auditStream ? { stream: options.auditStream } : { path: config.auditLog },
  );
  const server = await startProxyServer({
    policy,
    ca,
    audit,
    listen: options.listen,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(upstreamCa === undefined ? {} : { upstreamCa }),
    ...(options.now ? { now: options.now } : {}),
  });
  log(
    `pipelock: listening on ${server.address.host}:${server.address.port}, ${config.allow.length} allow rules`,
  );

  let queue: Promise<boolean> = Promise.resolve(true);
  const reloadOnce = async (): Promise<boolean> => {
    try {
      const next = buildPolicy(await loadPipelockConfig(options.configPath), env, policyOptions);
      if (next.config.auditLog !== config.auditLog) {
        log("pipelock: auditLog changes take effect at the next start");
      }
      const previous = server.policy;
      server.setPolicy(next);
      void previous.retire();
      for (const warning of next.warnings) log(`pipelock: ${warning}`);
      log(`pipelock: policy reloaded, ${next.config.allow.length} allow rules`);
      return true;
    } catch (error) {
      const hint = error instanceof BottleError && error.hint ? ` (${error.hint})` : "";
      log(
        `pipelock: kept the previous policy: ${error instanceof Error ? error.message : String(error)}${hint}`,
      );
      return false;
    }
  };
  // One reload at a time, in order: the last one reads the latest file.
  const reload = () => {
    queue = queue.then(reloadOnce, reloadOnce);
    return queue;
  };
  const watcher: ConfigWatcher | undefined =
    options.watch === false ? undefined : watchConfigFile(options.configPath, () => void reload());

  return {
    server,
    reload,
    async close() {
      watcher?.close();
      await server.close();
      await server.policy.retire();
      await audit.close();
    },
  };
}

async function readCa(certPath: string, keyPath: string): Promise<SigningCa> {
  try {
    const [certPem, keyPem] = await Promise.all([
      readFile(certPath, "utf8"),
      readFile(keyPath, "utf8"),
    ]);
    return await loadCa({ certPem, keyPem });
  } catch (error) {
    throw new BottleError(
      `cannot load pipelock's CA from ${certPath} and ${keyPath}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error, hint: "prepare the bottle again to mint a new CA" },
    );
  }
}

async function readUpstreamCa(path: string | undefined): Promise<string | undefined> {
  if (path === undefined || path === "") return undefined;
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new BottleError(`cannot read ${PIPELOCK_UPSTREAM_CA_FILE_ENV} ${path}`, {
      cause: error,
      hint: "point it at a PEM bundle, or unset it",
    });
  }
}
