import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base32 } from "../../shared/dlp/host-forms.js";
import { labelProblem, randomness } from "./wildcard-labels.js";

const BOUND = { maxLength: 40, randomMinLength: 16 };

/** Deterministic pseudo-random bytes: the same blobs on every run. */
function bytesOf(seed: number, length: number): Buffer {
  return createHash("sha256").update(`blob-${seed}`).digest().subarray(0, length);
}

const labelsOf = (prefix: string) => prefix.split(".");

describe("labelProblem", () => {
  it("passes names people give hosts", () => {
    for (const prefix of [
      "us-east-1",
      "cdn-7",
      "my-bucket-name",
      "objects-origin",
      "pkg-containers",
      "my-app-git-feature-branch",
      "storageaccount01",
      "europe-west4-docker",
      "internationalization",
      "documentation-staging",
      "kubernetes-dashboard",
      "myverylongbucketname",
      "k8s-cluster-prod-01",
      "backup-2024-06-17",
      "production-eu-west-1-b",
      "strengths-and-weaknesses",
      "www.staging.internal-tools",
      "github-production-release-asset-2e65be",
      "continuous-integration-runners",
      "d111111abcdef8",
    ]) {
      expect(labelProblem(labelsOf(prefix), BOUND), prefix).toBeUndefined();
    }
  });

  it("refuses a label longer than the bound, and only then", () => {
    const forty = "continuous-integration-runners-europe-12";
    expect(labelProblem([`${forty}3`], BOUND)).toEqual({ kind: "too-long", length: 41, limit: 40 });
    expect(labelProblem([forty], BOUND)).toBeUndefined();
    expect(labelProblem(["my-bucket-name"], { ...BOUND, maxLength: 12 })).toMatchObject({
      kind: "too-long",
    });
  });

  it("refuses hex and base32 blobs of 16 characters and more, however they are cut", () => {
    let refused = 0;
    const samples = 1000;
    for (let i = 0; i < samples; i++) {
      const blob = base32(bytesOf(i, 10)).slice(0, 16);
      if (labelProblem([blob], BOUND)?.kind === "random") refused++;
      expect(labelProblem([bytesOf(i, 8).toString("hex")], BOUND), "hex").toMatchObject({
        kind: "random",
      });
    }
    // Any rule that lets "objects-origin" pass lets a rare blob pass too; almost none do.
    expect(refused / samples).toBeGreaterThan(0.99);
    const blob = base32(bytesOf(7, 20));
    const short = blob.slice(0, 18);
    for (const cut of [
      blob,
      `${blob.slice(0, 10)}.${blob.slice(10, 20)}.${blob.slice(20)}`,
      short.match(/.{1,4}/g)?.join("-") ?? "",
      blob.match(/.{1,2}/g)?.join(".") ?? "",
      short.match(/.{1,1}/g)?.join("-") ?? "",
    ]) {
      expect(labelProblem(labelsOf(cut), BOUND), cut).toMatchObject({ kind: "random" });
    }
  });

  it("does not judge names shorter than the bound's minimum", () => {
    const short = base32(bytesOf(1, 10)).slice(0, 15);
    expect(labelProblem([short], BOUND)).toBeUndefined();
    expect(labelProblem([short], { ...BOUND, randomMinLength: 8 })).toMatchObject({
      kind: "random",
      limit: 8,
    });
  });
});

describe("randomness", () => {
  it("says why", () => {
    expect(randomness("0123456789abcdef", 16)).toBe("it is all hexadecimal digits");
    expect(randomness("1234567890123456", 16)).toBe("it is all hexadecimal digits");
    expect(randomness("ab-cd-ef-gh-ij-kl-mn-op", 16)).toBe(
      "it is cut into many one- or two-letter pieces",
    );
    expect(randomness("mzxw6ytboi2k7qzx", 16)).toMatch(/encoded data/);
  });
});
