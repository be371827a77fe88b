// One JSON line per decision pipelock takes, to a file or stdout. Callers pass hosts, paths and
// locations already redacted: nothing here may carry a secret value.
import { createWriteStream } from "node:fs";
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
  const owned = options.stream === undefined && options.path !== undefined;
  const out: Writable =
    options.stream ??
    (options.path === undefined ? process.stdout : createWriteStream(options.path, { flags: "a" }));
  // A failing log must not take the proxy down; say so once on stderr.
  let reported = false;
  out.on("error", (error) => {
    if (reported) return;
    reported = true;
    process.stderr.write(`pipelock: audit log write failed: ${error.message}\n`);
  });
  return {
    write(event) {
      out.write(`${JSON.stringify({ ts: now().toISOString(), ...event })}\n`);
    },
    close() {
      if (!owned) return Promise.resolve();
      return new Promise((resolve) => out.end(resolve));
    },
  };
}
