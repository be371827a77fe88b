// Refuses upstream connections to addresses inside private, loopback, link-local and other
// non-public ranges when a *name* resolved to them: an allowlisted name whose DNS answer is
// 127.0.0.1 or the host's bridge would otherwise let the agent reach services on the
// machine or its network (DNS rebinding). An address the allowlist names itself is not
// looked up, so allowlisting a private IP explicitly still works.

import { lookup as dnsLookup } from "node:dns";
import { BlockList, type LookupFunction } from "node:net";

const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 127],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

export function isPrivateAddress(address: string, family: number): boolean {
  return PRIVATE.check(address, family === 6 ? "ipv6" : "ipv4");
}

export class PrivateUpstreamError extends Error {
  readonly code = "EPRIVATEUPSTREAM";
  constructor(hostname: string, address: string) {
    super(
      `${hostname} resolves to ${address}, a private or local address; pipelock does not ` +
        "connect to those through a name (allowlist the address itself to allow it)",
    );
    this.name = "PrivateUpstreamError";
  }
}

/** Wraps a lookup so that private answers fail, unless `allowPrivate()` says otherwise. */
export function guardLookup(
  allowPrivate: () => boolean,
  base: LookupFunction = dnsLookup,
): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, options, (error, address, family) => {
      if (error || allowPrivate()) {
        (callback as (...args: unknown[]) => void)(error, address, family);
        return;
      }
      const answers = Array.isArray(address) ? address : [{ address, family: family ?? 4 }];
      const bad = answers.find((a) => isPrivateAddress(a.address, a.family));
      if (bad !== undefined) {
        (callback as (...args: unknown[]) => void)(new PrivateUpstreamError(hostname, bad.address));
        return;
      }
      (callback as (...args: unknown[]) => void)(null, address, family);
    });
  };
}
