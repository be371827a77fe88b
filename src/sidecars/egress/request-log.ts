// One JSON line per request on stdout. Only what is needed to audit routing: never headers,
// query strings, bodies, paths, or hosts other than route hosts, and every line passes the
// secret redactor on its way out. Paths and host names are the agent's to choose, so they
// can carry any secret it holds, and egress knows only the route tokens: pipelock, which
// knows them all and redacts, keeps the record of where requests went.

/**
 * - intercept: TLS terminated by egress for a route host (a token may have been added)
 * - tunnel: a CONNECT relayed to pipelock untouched
 * - forward: a plain http:// request relayed to pipelock (never given a token)
 * - local: egress's own endpoints
 * - refused: answered by egress with an error, nothing sent upstream
 */
export type RequestKind = "intercept" | "tunnel" | "forward" | "local" | "refused";

export interface RequestLogEntry {
  kind: RequestKind;
  /** True when a route matched, so the request was given its token. */
  routed: boolean;
  host: string;
  method: string;
  /** Without query or fragment; null for CONNECT. */
  path: string | null;
  status: number;
  /** Why egress answered with an error. */
  error?: string;
  /**
   * Relayed exchanges (intercept, forward), once over: the request body's bytes sent
   * upstream and the response body's bytes as the upstream sent them. Absent on other lines.
   */
  requestBytes?: number;
  responseBytes?: number;
}

export interface RequestLogLine extends Omit<RequestLogEntry, "host"> {
  time: string;
  event: "request";
  /** Null unless it is a route host or egress itself. */
  host: string | null;
}

export type LogSink = (line: string) => void;

export const stdoutSink: LogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

const MAX_PATH_CHARS = 2048;

export function createRequestLogger(options: {
  sink: LogSink;
  now: () => Date;
  redact: (text: string) => string;
  /** Hosts named by the routes file: the only agent-facing hosts a line may name. */
  routeHosts: ReadonlySet<string>;
}): (entry: RequestLogEntry) => void {
  return (entry) => {
    const own = entry.kind === "local";
    const path =
      !own || entry.path === null
        ? null
        : entry.path.length <= MAX_PATH_CHARS
          ? entry.path
          : `${entry.path.slice(0, MAX_PATH_CHARS)}…`;
    const host = own || options.routeHosts.has(entry.host.toLowerCase()) ? entry.host : null;
    const line: RequestLogLine = {
      time: options.now().toISOString(),
      event: "request",
      ...entry,
      host,
      path,
    };
    options.sink(options.redact(JSON.stringify(line)));
  };
}
