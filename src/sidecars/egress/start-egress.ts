// Starts egress from its settings: loads the routes and their tokens, the egress CA and
// pipelock's CA, then listens. Everything that can be wrong with the configuration fails
// here, before the first connection, with a message that names files and variables only.
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { loadCa } from "../../shared/ca/index.js";
import { BottleError } from "../../shared/errors.js";
import type { EgressSettings } from "./egress-settings.js";
import { createEgressServer } from "./proxy-server.js";
import { createRequestLogger, type LogSink, stdoutSink } from "./request-log.js";
import { errorText, loadRoutesFile, resolveRoutes, secretRedactor } from "./routes-config.js";
import { type ConnectFn, connectTcp } from "./upstream.js";

export interface StartEgressOptions {
  settings: EgressSettings;
  /** Where route tokens are read from. */
  env: Readonly<Record<string, string | undefined>>;
  sink?: LogSink;
  now?: () => Date;
  /** Opens every outbound socket; tests wrap it to see where egress connects. */
  connect?: ConnectFn;
}

export interface RunningEgress {
  address: AddressInfo;
  hasLeafFor(host: string): boolean;
  /** Masks token values in text about to leave the process. */
  redact(text: string): string;
  close(): Promise<void>;
}

export async function startEgress(options: StartEgressOptions): Promise<RunningEgress> {
  const { settings, env } = options;
  const now = options.now ?? (() => new Date());
  const sink = options.sink ?? stdoutSink;
  const routes = resolveRoutes(await loadRoutesFile(settings.routesFile), env);
  const redact = secretRedactor(routes, env);
  const ca = await loadEgressCa(settings);
  const upstreamCa = await readPem(settings.upstreamCaFile, "pipelock's CA certificate");
  const egress = await createEgressServer({
    routes,
    ca,
    upstream: { proxy: settings.upstreamProxy, connect: options.connect ?? connectTcp },
    // pipelock intercepts every tunnel, so its CA is the only one egress ever needs.
    upstreamCa: [upstreamCa],
    log: createRequestLogger({ sink, now, redact, routeHosts: new Set(routes.map((r) => r.host)) }),
    redact,
    now,
    selfNames: [settings.listen.host],
  });
  egress.server.listen(settings.listen.port, settings.listen.host);
  try {
    await Promise.race([
      once(egress.server, "listening"),
      once(egress.server, "error").then(([error]) => Promise.reject(error)),
    ]);
  } catch (error) {
    await egress.close();
    throw new BottleError(
      `egress cannot listen on ${settings.listen.host}:${settings.listen.port}: ${errorText(error)}`,
      { cause: error },
    );
  }
  const address = egress.server.address() as AddressInfo;
  sink(
    JSON.stringify({
      time: now().toISOString(),
      event: "listening",
      address: `${address.address}:${address.port}`,
      routes: routes.length,
      upstream: `${settings.upstreamProxy.host}:${settings.upstreamProxy.port}`,
    }),
  );
  return { address, hasLeafFor: egress.hasLeafFor, redact, close: egress.close };
}

async function loadEgressCa(settings: EgressSettings) {
  const certPem = await readPem(settings.caCertFile, "the egress CA certificate");
  const keyPem = await readPem(settings.caKeyFile, "the egress CA key");
  try {
    return await loadCa({ certPem, keyPem });
  } catch (cause) {
    throw new BottleError(
      `the egress CA in ${settings.caCertFile} and ${settings.caKeyFile} is unusable: ${errorText(cause)}`,
      { cause, hint: "prepare the bottle again to mint a fresh CA" },
    );
  }
}

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (cause) {
    throw new BottleError(`cannot read ${what} at ${path}: ${errorText(cause)}`, { cause });
  }
}
