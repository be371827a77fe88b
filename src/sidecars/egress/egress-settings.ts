// Where egress listens, where its files are and which proxy its outbound leg uses, read from
// its environment. The in-container paths are the defaults; the overrides exist for tests.
//   EGRESS_UPSTREAM_PROXY  required, http://host:port of pipelock
//   EGRESS_UPSTREAM_CA     required, path of pipelock's CA certificate (PEM)
//   EGRESS_LISTEN          host:port, default 0.0.0.0:8080
//   EGRESS_ROUTES_FILE, EGRESS_CA_FILE, EGRESS_CA_KEY_FILE   override the mounted files
// Route tokens are read separately, by the names the routes file gives (EGRESS_TOKEN_<n>).
import { isIP } from "node:net";
import {
  EGRESS_CA_IN_CONTAINER,
  EGRESS_CA_KEY_IN_CONTAINER,
  EGRESS_PORT,
  EGRESS_ROUTES_IN_CONTAINER,
} from "../../contracts/egress.js";
import { BottleError } from "../../shared/errors.js";

export interface HostPort {
  host: string;
  port: number;
}

export interface EgressSettings {
  listen: HostPort;
  routesFile: string;
  caCertFile: string;
  caKeyFile: string;
  /** pipelock: every outbound connection of egress goes to this address and nowhere else. */
  upstreamProxy: HostPort;
  /** pipelock's CA, trusted in addition to the system roots (pipelock intercepts TLS). */
  upstreamCaFile: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function readEgressSettings(env: Env): EgressSettings {
  return {
    listen: parseListen(env.EGRESS_LISTEN),
    routesFile: env.EGRESS_ROUTES_FILE || EGRESS_ROUTES_IN_CONTAINER,
    caCertFile: env.EGRESS_CA_FILE || EGRESS_CA_IN_CONTAINER,
    caKeyFile: env.EGRESS_CA_KEY_FILE || EGRESS_CA_KEY_IN_CONTAINER,
    upstreamProxy: parseUpstreamProxy(env.EGRESS_UPSTREAM_PROXY),
    upstreamCaFile: required(env, "EGRESS_UPSTREAM_CA", "the path of pipelock's CA certificate"),
  };
}

function required(env: Env, name: string, what: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    throw new BottleError(`${name} is unset: egress needs ${what}`, {
      hint: "the bottle's Compose file sets it; run egress through `claude-bottle start`",
    });
  }
  return value;
}

function parseListen(text: string | undefined): HostPort {
  if (text === undefined || text === "") return { host: "0.0.0.0", port: EGRESS_PORT };
  const parsed = parseHostPort(text);
  if (parsed === undefined) {
    throw new BottleError(`EGRESS_LISTEN=${text} is not host:port (e.g. 127.0.0.1:8080)`);
  }
  return parsed;
}

function parseUpstreamProxy(text: string | undefined): HostPort {
  const value = required(
    { EGRESS_UPSTREAM_PROXY: text },
    "EGRESS_UPSTREAM_PROXY",
    "pipelock's address",
  );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    url = new URL("invalid:");
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (url.protocol !== "http:" || host === "" || url.pathname.length > 1 || url.username) {
    throw new BottleError(
      `EGRESS_UPSTREAM_PROXY=${value} is not an http://host:port URL (e.g. http://pipelock:8888)`,
    );
  }
  return { host, port: url.port === "" ? 80 : Number(url.port) };
}

/** "host:port", "[v6]:port" or ":port" (all interfaces); port 0 picks a free one. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const host = m[1] ?? m[2] ?? "";
  const port = Number(m[3]);
  if (port > 65535 || (m[1] !== undefined && isIP(host) !== 6)) return undefined;
  return { host: host === "" ? "0.0.0.0" : host, port };
}
