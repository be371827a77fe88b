// Certificate authorities for tests: a CA minted per run (never a real one), its leaves per
// host name, and the CA written to a file a bottle can be told to trust
// (CLAUDE_BOTTLE_UPSTREAM_CA) so stand-in upstreams in containers can serve HTTPS.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import {
  type CaPem,
  LeafCache,
  loadCa,
  type MintedCa,
  mintCa,
  mintLeafCertificate,
} from "../../../src/shared/ca/index.js";

export function newCa(commonName: string): Promise<MintedCa> {
  return mintCa({ commonName, now: new Date() });
}

/** An SNICallback answering each name with a leaf minted from `ca` on first use. */
export function sniContexts(ca: MintedCa) {
  const cache = new LeafCache<{ context: tls.SecureContext; notAfter: Date }>();
  return (name: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void) => {
    cache
      .getOrMint(name, new Date(), async () => {
        const leaf = await mintLeafCertificate(ca, name, { now: new Date() });
        return {
          context: tls.createSecureContext({ cert: leaf.chainPem, key: leaf.keyPem }),
          notAfter: leaf.notAfter,
        };
      })
      .then(
        (v) => cb(null, v.context),
        (e: Error) => cb(e),
      );
  };
}

/** A leaf from `ca` for each host name, as PEM, for a server that cannot mint its own. */
export async function leafPems(
  ca: CaPem,
  hostnames: readonly string[],
): Promise<Record<string, { cert: string; key: string }>> {
  const signing = await loadCa(ca);
  const certs: Record<string, { cert: string; key: string }> = {};
  for (const host of hostnames) {
    const leaf = await mintLeafCertificate(signing, host, { now: new Date() });
    certs[host] = { cert: leaf.chainPem, key: leaf.keyPem };
  }
  return certs;
}

export interface UpstreamCa {
  /** PEM file to export as CLAUDE_BOTTLE_UPSTREAM_CA. */
  caFile: string;
  ca: CaPem;
  dir: string;
  dispose(): Promise<void>;
}

/** A CA for stand-in upstreams, written where a bottle can be told to trust it. */
export async function makeUpstreamCa(): Promise<UpstreamCa> {
  const dir = await mkdtemp(join(tmpdir(), "cb-upstream-ca-"));
  const ca = await mintCa({ commonName: "claude-bottle test upstreams", now: new Date() });
  const caFile = join(dir, "ca.pem");
  await writeFile(caFile, ca.certPem);
  return { caFile, ca, dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
