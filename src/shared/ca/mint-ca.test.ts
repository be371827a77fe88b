import { createPrivateKey, X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { loadCa, mintCa } from "./mint-ca.js";

const now = new Date("2025-06-01T12:00:00Z");

describe("mintCa", () => {
  it("mints a P-256 CA valid for about a year from the given clock", async () => {
    const ca = await mintCa({ commonName: "claude-bottle dev", now });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain("CN=claude-bottle dev");
    expect(cert.issuer).toBe(cert.subject);
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 3600_000);
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 365 * 86400_000);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert.checkPrivateKey(createPrivateKey(ca.keyPem))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });

  it("keeps a comma in the common name as data, not as a name separator", async () => {
    const ca = await mintCa({ commonName: "a, O=evil", now, validityDays: 2 });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.subject.split("\n")).toEqual(["CN=a\\, O=evil", "O=claude-bottle"]);
  });

  it("uses the randomness it is given for the serial number", async () => {
    const ca = await mintCa({
      commonName: "x",
      now,
      randomBytes: (n) => new Uint8Array(n).fill(0xff),
    });
    expect(new X509Certificate(ca.certPem).serialNumber).toBe(`7F${"FF".repeat(15)}`);
  });
});

describe("loadCa", () => {
  it("loads a minted CA", async () => {
    const ca = await mintCa({ commonName: "x", now });
    const loaded = await loadCa(ca);
    expect(loaded.notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  it("refuses a key that belongs to another CA", async () => {
    const a = await mintCa({ commonName: "a", now });
    const b = await mintCa({ commonName: "b", now });
    await expect(loadCa({ certPem: a.certPem, keyPem: b.keyPem })).rejects.toThrow(
      "the CA private key does not match the CA certificate",
    );
  });

  it("says which PEM block is missing", async () => {
    const a = await mintCa({ commonName: "a", now });
    await expect(loadCa({ certPem: a.certPem, keyPem: a.certPem })).rejects.toThrow(
      'no "PRIVATE KEY" PEM block found',
    );
  });
});
