// What the DLP engine takes in and gives back. A finding says which rule matched where, never
// the matched value: at most a fixed prefix and a length.
import type { SecretEncoding } from "./known-secrets.js";
import type { SecretPieces } from "./text-matcher.js";

export interface ScanBody {
  bytes: Uint8Array;
  /** The Content-Type header value. */
  contentType?: string | undefined;
  /** The Content-Encoding header value; only gzip, deflate, br and identity can be scanned. */
  contentEncoding?: string | undefined;
  /** Location prefix for findings; "body" unless given (e.g. "websocket"). */
  label?: string;
}

export interface ScanTarget {
  /** The target host as the client named it. */
  host?: string;
  /** The raw request path without the query, still percent-encoded. */
  path?: string;
  /** The raw query without "?". */
  query?: string;
  headers?: Iterable<readonly [name: string, value: string]>;
  body?: ScanBody;
}

export interface DlpFinding {
  /** A credential rule id, or "known-secret". */
  ruleId: string;
  description: string;
  /** "path", "query", "host", "header:x-foo", "body", "body.json:$.a.b", "body.form:field". */
  location: string;
  /** e.g. "AKIA…(20 chars)"; never more than a rule's fixed prefix. */
  preview: string;
  /** For known secrets: the secret's name (an env var name), and the form it was found in. */
  secretName?: string;
  encoding?: SecretEncoding;
}

export type UnscannableReason = "encoding" | "too-large";

export type DlpVerdict = (
  | { status: "clean" }
  | { status: "findings"; findings: DlpFinding[] }
  | { status: "unscannable"; reason: UnscannableReason; detail: string }
) & {
  /**
   * Characters of known secrets the request carried as pieces (positions, never text), for
   * joining over requests (pipelock's sent-window). Absent when there are none.
   */
  pieces?: SecretPieces[];
};
