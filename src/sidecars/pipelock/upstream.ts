// pipelock's outbound leg: keep-alive agents that verify upstream certificates against the
// default roots (plus an extra bundle, for private CAs and tests), resolving names through an
// injectable lookup so tests can point a hostname at a loopback server.
import * as http from "node:http";
import * as https from "node:https";
import type { LookupFunction } from "node:net";
import { isIP } from "node:net";
import * as tls from "node:tls";
import type { Target } from "./target.js";

export interface UpstreamOptions {
  lookup?: LookupFunction | undefined;
  /** PEM certificates trusted in addition to the default roots. */
  extraCa?: string | undefined;
  /** Idle time after which an upstream request is abandoned; defaults to 5 minutes. */
  idleTimeoutMs?: number;
}

export interface UpstreamRequest {
  method: string;
  pathAndQuery: string;
  /** Flat raw header list: name, value, name, value… */
  headers: string[];
}

export class Upstream {
  readonly #http: http.Agent;
  readonly #https: https.Agent;
  readonly #lookup: LookupFunction | undefined;
  /** Built once: a `ca` array on the agent is re-joined into its pool key on every request. */
  readonly #secureContext: tls.SecureContext | undefined;
  readonly #idleTimeoutMs: number;

  constructor(options: UpstreamOptions = {}) {
    this.#lookup = options.lookup;
    this.#secureContext =
      options.extraCa === undefined
        ? undefined
        : tls.createSecureContext({ ca: [...tls.rootCertificates, options.extraCa] });
    this.#idleTimeoutMs = options.idleTimeoutMs ?? 5 * 60 * 1000;
    // No Nagle: a request's last small segment must not wait for the ACK of the one before.
    this.#http = new http.Agent({ keepAlive: true, noDelay: true });
    this.#https = new https.Agent({
      keepAlive: true,
      noDelay: true,
      ...(this.#secureContext ? { secureContext: this.#secureContext } : {}),
    });
  }

  /** @param fresh a connection of its own, outside the keep-alive pool (for upgrades) */
  request(target: Target, req: UpstreamRequest, fresh = false): http.ClientRequest {
    const host = target.host.host;
    const common = {
      host,
      port: target.port,
      method: req.method,
      path: req.pathAndQuery,
      headers: req.headers,
      timeout: this.#idleTimeoutMs,
      ...(this.#lookup ? { lookup: this.#lookup } : {}),
    };
    const request =
      target.scheme === "https"
        ? https.request({
            ...common,
            servername: serverName(host),
            ...(fresh
              ? {
                  agent: false,
                  noDelay: true,
                  ...(this.#secureContext ? { secureContext: this.#secureContext } : {}),
                }
              : { agent: this.#https }),
          })
        : http.request({
            ...common,
            ...(fresh ? { agent: false, noDelay: true } : { agent: this.#http }),
          });
    request.on("timeout", () => request.destroy(new Error("upstream idle timeout")));
    return request;
  }

  destroy(): void {
    this.#http.destroy();
    this.#https.destroy();
  }
}

/** SNI carries names only. */
function serverName(host: string): string | undefined {
  return isIP(host) === 0 ? host : undefined;
}
