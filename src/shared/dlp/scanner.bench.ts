// Throughput of the DLP engine on clean 1 MiB bodies (the hot path of the proxy):
// `npx vitest bench --run --project unit src/shared/dlp`. Reads MB/s as hz × 1 MiB.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { bench, describe } from "vitest";
import { filler } from "../../../test/support/fixtures/fake-credentials.js";
import { createDlpScanner } from "./scanner.js";

const MIB = 1024 * 1024;
const require = createRequire(import.meta.url);
const source = readFileSync(require.resolve("typescript/lib/lib.dom.d.ts"), "latin1");
const code = Buffer.from(source.repeat(Math.ceil(MIB / source.length)).slice(0, MIB), "latin1");
const prose = source.slice(0, 64 * 1024);
const json = Buffer.from(
  JSON.stringify({
    model: "m",
    messages: Array.from({ length: 16 }, (_, i) => ({ role: "user", content: `${i}\n${prose}` })),
  }).slice(0, MIB),
);
const base64 = Buffer.from(filler(MIB, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+/"));

const scanner = createDlpScanner({
  knownSecrets: Array.from({ length: 5 }, (_, i) => ({
    name: `SECRET_${i}`,
    value: filler(32, undefined, i + 100),
  })),
});

describe("clean 1 MiB bodies", () => {
  bench("source code", () => {
    scanner.scan({ body: { bytes: code, contentType: "text/plain" } });
  });
  bench("JSON with escapes", () => {
    scanner.scan({ body: { bytes: json, contentType: "application/json" } });
  });
  bench("base64 text", () => {
    scanner.scan({ body: { bytes: base64, contentType: "application/octet-stream" } });
  });
});
