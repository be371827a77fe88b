import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import * as tls from "node:tls";
import { describe, expect, it } from "vitest";
import { loadCa, mintCa } from "./mint-ca.js";
import { createLeafKey, mintLeafCertificate } from "./mint-leaf.js";

const now = new Date();

async function handshake(chainPem: string, keyPem: string, caPem: string, servername: string) {
  const server = tls.createServer({ cert: chainPem, key: keyPem }, (s) => s.end("hi"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca: caPem });
    const result = await new Promise<string>((resolve, reject) => {
      socket.on("secureConnect", () => resolve("ok"));
      socket.on("error", reject);
    });
    socket.destroy();
    return result;
  } finally {
    server.close();
  }
}

describe("mintLeafCertificate", () => {
  it("signs a DNS leaf that a TLS client trusting only the CA accepts", async () => {
    const ca = await mintCa({ commonName: "bottle", now });
    const leaf = await mintLeafCertificate(ca, "API.Example.com", { now });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subjectAltName).toBe("DNS:api.example.com");
    expect(cert.ca).toBe(false);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    await expect(
      handshake(leaf.chainPem, leaf.keyPem, ca.certPem, "api.example.com"),
    ).resolves.toBe("ok");
    await expect(
      handshake(leaf.chainPem, leaf.keyPem, ca.certPem, "other.example.com"),
    ).rejects.toThrow(/altnames/);
  });

  it("signs IP leaves for v4 and bracketed v6 literals", async () => {
    const ca = await loadCa(await mintCa({ commonName: "bottle", now }));
    const v4 = await mintLeafCertificate(ca, "10.1.2.3", { now });
    expect(new X509Certificate(v4.certPem).subjectAltName).toBe("IP Address:10.1.2.3");
    const v6 = await mintLeafCertificate(ca, "[::1]", { now });
    expect(new X509Certificate(v6.certPem).subjectAltName).toBe("IP Address:0:0:0:0:0:0:0:1");
  });

  it("never outlives its CA and can share one key across hosts", async () => {
    const ca = await mintCa({ commonName: "bottle", now, validityDays: 3 });
    const key = await createLeafKey();
    const a = await mintLeafCertificate(ca, "a.test", { now, key, validityDays: 30 });
    const b = await mintLeafCertificate(ca, "b.test", { now, key });
    expect(a.notAfter.getTime()).toBe(ca.notAfter.getTime());
    expect(a.keyPem).toBe(b.keyPem);
    expect(a.certPem).not.toBe(b.certPem);
  });

  it("refuses names that are neither hostnames nor IPs, and expired CAs", async () => {
    const ca = await mintCa({ commonName: "bottle", now, validityDays: 1 });
    await expect(mintLeafCertificate(ca, "a b", { now })).rejects.toThrow(
      'not a hostname or IP address: "a b"',
    );
    const later = new Date(now.getTime() + 2 * 86400_000);
    await expect(mintLeafCertificate(ca, "a.test", { now: later })).rejects.toThrow(
      "the CA has expired",
    );
  });
});
