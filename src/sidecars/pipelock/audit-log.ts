// One JSON line per decision pipelock takes, to a file or stdout. Callers pass hosts, paths and
// locations already redacted: nothing here may carry a secret value.
import { closeSync, openSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";

export type AuditDecision = "allowed" | "denied" | "dlp_block" | "dlp_warn" | "error";

export interface AuditEvent {
  /** The client's address:port. */
  client: string;
  method: string;
  host: string;
  port: number;
  /** Without the query; "[redacted]" when DLP found something in it. */
  path: string | null;
  decision: AuditDecision;
  /** A DLP rule id, or a reason such as "not-allowlisted", "ip-literal", "sni-mismatch". */
  rule: string | null;
  location: string | null;
  status?: number;
  detail?: string;
  /**
   * On a rate-limit refusal: the counts so far of the bucket it came from (a host, or a
   * wildcard rule), so that the latest line tells the whole story.
   */
  rate?: { key: string; bursts: number; refusals: number };
  /** On a name-budget refusal: the wildcard rule, its budget and how many names it used. */
  names?: { pattern: string; used: number; budget: number };
}

export interface AuditLog {
  write(event: AuditEvent): void;
  close(): Promise<void>;
}

export interface AuditLogOptions {
  /** Appended to; stdout when absent. */
  path?: string | undefined;
  stream?: Writable;
  now?: () => Date;
}

export function createAuditLog(options: AuditLogOptions = {}): AuditLog {
  const now = options.now ?? (() => new Date());
  const line = (event: AuditEvent) => `${JSON.stringify({ ts: now().toISOString(), ...event })}\n`;
  // A failing log must not take the proxy down; say so once on stderr.
  let reported = false;
  const report = (error: Error) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`pipelock: audit log write failed: ${error.message}\n`);
  };
  if (options.stream === undefined && options.path !== undefined) {
    return appendingTo(options.path, line, report);
  }
  const out: Writable = options.stream ?? process.stdout;
  out.on("error", report);
  return {
    write(event) {
      out.write(line(event));
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Appends each line with one write(2) as it happens. An appending write to a file returns as
 * soon as the page cache has it, in microseconds, where a write stream would hand every line
 * to libuv's thread pool and back (a third of pipelock's CPU per request at a steady 1,000
 * requests/s); and a line is on disk in order even if pipelock dies the next moment.
 */
function appendingTo(
  path: string,
  line: (event: AuditEvent) => string,
  report: (error: Error) => void,
): AuditLog {
  let fd: number | undefined;
  try {
    fd = openSync(path, "a", 0o600);
  } catch (error) {
    report(error as Error);
  }
  return {
    write(event) {
      if (fd === undefined) return;
      try {
        const bytes = Buffer.from(line(event));
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
      } catch (error) {
        report(error as Error);
      }
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
      return Promise.resolve();
    },
  };
}
