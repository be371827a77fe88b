// One JSON line per request on stdout. Only what is needed to audit routing: never headers,
// query strings or bodies, and every line passes the secret redactor on its way out.

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
}

export interface RequestLogLine extends RequestLogEntry {
  time: string;
  event: "request";
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
}): (entry: RequestLogEntry) => void {
  return (entry) => {
    const path =
      entry.path === null || entry.path.length <= MAX_PATH_CHARS
        ? entry.path
        : `${entry.path.slice(0, MAX_PATH_CHARS)}…`;
    const line: RequestLogLine = {
      time: options.now().toISOString(),
      event: "request",
      ...entry,
      path,
    };
    options.sink(options.redact(JSON.stringify(line)));
  };
}
