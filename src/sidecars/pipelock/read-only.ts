// Read-only hosts (the policy's `readOnly`, for package registries): a request to one passes
// only as GET or HEAD, never as a protocol upgrade, so that the agent can fetch what anyone
// can read there but cannot publish, delete or open a two-way channel. What passes is still
// scanned for secrets like any other request: a package name or version asked for is a
// channel out, bounded by DLP on the URL. Pure: no I/O.
import { type Refusal, readOnlyHost } from "./messages.js";
import type { Policy } from "./policy.js";
import type { Target } from "./target.js";

/** The only methods a read-only host receives. */
export const READ_ONLY_METHODS: readonly string[] = ["GET", "HEAD"];

/**
 * The refusal for `method` ("upgrade" for a WebSocket or other upgrade) to `target`, or
 * undefined when the host is not read-only or the method only reads. `shownHost` is the host
 * as it may be logged and told.
 */
export function readOnlyRefusal(
  policy: Pick<Policy, "readOnly">,
  target: Pick<Target, "host" | "port">,
  method: string,
  shownHost: string,
): Refusal | undefined {
  if (policy.readOnly.match(target.host, target.port) === undefined) return undefined;
  if (READ_ONLY_METHODS.includes(method)) return undefined;
  return readOnlyHost(shownHost, target.port, method);
}

/** The audit rule of a refusal from readOnlyRefusal. */
export const READ_ONLY_RULE = "read-only-host";
