// A reduced clean-traffic corpus (bench/dlp-corpus: a few items of every kind, built offline
// in a temp dir) passes pipelock's, its WebSocket relay's, git-gate's and egress's response
// scans with no refusal; and the same scans refuse an item once a secret is planted in it.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCorpus } from "../../bench/dlp-corpus/build-corpus.js";
import type { CorpusManifest, ItemKind } from "../../bench/dlp-corpus/corpus-types.js";
import { renderReport } from "../../bench/dlp-corpus/report.js";
import { randomSecrets, scanCorpus } from "../../bench/dlp-corpus/scan-corpus.js";
import { scanResponses } from "../../bench/dlp-corpus/scan-responses.js";

const ROOT = resolve(import.meta.dirname, "..", "..");
const SCANNED_KINDS: ItemKind[] = [
  "npm-tarball",
  "npm-publish",
  "npm-packument",
  "pypi-wheel",
  "pypi-index",
  "git-upload-pack",
  "git-receive-pack",
  "git-push-scan",
  "model-api",
  "minified-js",
  "image",
  "source-map",
  "lockfile-json",
  "websocket",
];

describe("the clean-traffic corpus", () => {
  let dir: string;
  let manifest: CorpusManifest;
  const secrets = randomSecrets();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clean-corpus-"));
    manifest = await buildCorpus({ dir, root: ROOT, scale: "reduced" });
  });
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("is refused nowhere", async () => {
    const results = await scanCorpus(dir, manifest, { secrets });
    const kinds = new Set(results.map((r) => r.item.kind));
    expect([...kinds].sort()).toEqual([...SCANNED_KINDS].sort());
    const bytes = results.reduce((n, r) => n + r.bytes, 0);
    expect(bytes).toBeGreaterThan(1024 * 1024);
    expect(bytes).toBeLessThan(20 * 1024 * 1024);
    const refused = results.filter((r) => r.refusals.length > 0);
    expect(refused.length, renderReport(refused)).toBe(0);
  });

  it("is withheld nowhere when it comes back from a route host through egress", async () => {
    const results = await scanResponses(dir, manifest, secrets.ANTHROPIC_API_KEY as string);
    if (results === undefined) throw new Error("egress has no response scan");
    expect(new Set(results.map((r) => r.item.kind))).toContain("model-stream");
    expect(results.length).toBeGreaterThan(20);
    const refused = results.filter((r) => r.refusals.length > 0);
    expect(refused.length, renderReport(refused)).toBe(0);
  });

  it("refuses a model request once a secret of the bottle is planted in a tool result", async () => {
    const item = manifest.items.find((i) => i.kind === "model-api" && i.path === "/v1/messages");
    if (item === undefined) throw new Error("the corpus has no Messages request");
    const path = join(dir, item.file);
    const body = JSON.parse(readFileSync(path, "utf8"));
    const lastUser = body.messages.findLast((m: { role: string }) => m.role === "user");
    lastUser.content.push({
      type: "text",
      text: `export const token = "${secrets.GITHUB_TOKEN}";\n`,
    });
    writeFileSync(path, JSON.stringify(body));
    expect(statSync(path).size).toBeGreaterThan(1000);
    const [result] = await scanCorpus(dir, { items: [item] }, { secrets });
    expect(result?.refusals.length).toBeGreaterThan(0);
    expect(result?.refusals.map((r) => r.rule)).toContain("known-secret GITHUB_TOKEN");
  });

  it("refuses the second of two Responses requests that each carry half of a secret", async () => {
    const items = manifest.items.filter((i) => i.path === "/v1/responses");
    expect(items.length).toBe(2);
    const value = secrets.DATABASE_PASSWORD as string;
    const halves = [value.slice(0, value.length / 2), value.slice(value.length / 2)];
    for (const [n, item] of items.entries()) {
      const path = join(dir, item.file);
      const body = JSON.parse(readFileSync(path, "utf8"));
      body.input.push({
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: `note ${halves[n]}` }],
      });
      writeFileSync(path, JSON.stringify(body));
    }
    const results = await scanCorpus(dir, { items }, { secrets });
    expect(results.map((r) => r.refusals)).toEqual([
      [],
      [{ rule: "known-secret DATABASE_PASSWORD cut over requests", place: "requests" }],
    ]);
  });
});
