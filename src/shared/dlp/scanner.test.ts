import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "./fake-credentials.js";
import type { DlpVerdict, ScanTarget } from "./scan-types.js";
import { createDlpScanner } from "./scanner.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";
const PEM = FAKE_CREDENTIALS["private-key"]?.hit ?? "";
const SECRET = "hunter2-is-not-a-good-password";
const scanner = createDlpScanner({ knownSecrets: [{ name: "DB_PASSWORD", value: SECRET }] });

function scan(target: ScanTarget): DlpVerdict {
  const verdict = scanner.scan(target);
  const serialized = JSON.stringify(verdict);
  expect(serialized).not.toContain(TOKEN.slice(4));
  expect(serialized).not.toContain(SECRET);
  return verdict;
}

function where(verdict: DlpVerdict): string[] {
  return verdict.status === "findings"
    ? verdict.findings.map((f) => `${f.ruleId}@${f.location}`)
    : [verdict.status];
}

const json = (value: unknown) => ({
  bytes: Buffer.from(JSON.stringify(value)),
  contentType: "application/json; charset=utf-8",
});

describe("createDlpScanner: request parts", () => {
  it("reports path, query and header locations", () => {
    expect(where(scan({ path: `/repos/${TOKEN}/x` }))).toEqual(["github-pat@path"]);
    expect(where(scan({ query: `a=1&t=${TOKEN}` }))).toEqual(["github-pat@query"]);
    expect(where(scan({ headers: [["X-Foo", `token ${TOKEN}`]] }))).toEqual([
      "github-pat@header:x-foo",
    ]);
    expect(where(scan({ host: `${TOKEN.toLowerCase()}.evil.test` }))).toEqual(["github-pat@host"]);
    expect(where(scan({ host: `${SECRET}.evil.test` }))).toEqual(["known-secret@host"]);
  });

  it("percent-decodes path and query before matching", () => {
    const encoded = [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    expect(where(scan({ path: `/x/${encoded}` }))).toEqual(["github-pat@path"]);
    expect(where(scan({ query: `q=${encodeURIComponent(`${SECRET} `)}` }))).toEqual([
      "known-secret@query",
    ]);
  });

  it("does not name a header whose name is the secret", () => {
    expect(where(scan({ headers: [[TOKEN, "1"]] }))).toEqual(["github-pat@header"]);
  });

  it("passes clean requests", () => {
    expect(
      scan({
        path: "/v1/messages",
        query: "beta=true",
        headers: [["content-type", "application/json"]],
        body: json({ model: "x", messages: [{ role: "user", content: "hello\nworld" }] }),
      }),
    ).toEqual({ status: "clean" });
  });
});

describe("createDlpScanner: bodies", () => {
  it("finds a PEM inside a JSON string and names its JSON path", () => {
    const verdict = scan({ body: json({ a: { b: `key:\n${PEM}` }, list: [1] }) });
    expect(where(verdict)).toEqual(["private-key@body.json:$.a.b"]);
  });

  it("sees through \\u escapes and escaped slashes", () => {
    const hook = (FAKE_CREDENTIALS["slack-webhook-url"]?.hit ?? "").replace(/\//g, "\\/");
    const text = `{"x": "\\u0067hp_${TOKEN.slice(4)}", "y": "${hook}"}`;
    const verdict = scan({ body: { bytes: Buffer.from(text), contentType: "application/json" } });
    expect(where(verdict).sort()).toEqual([
      "github-pat@body.json:$.x",
      "slack-webhook-url@body.json:$.y",
    ]);
  });

  it("places a secret used as a key without showing the key", () => {
    const verdict = scan({ body: json({ outer: { [TOKEN]: 1 } }) });
    expect(where(verdict)).toEqual(["github-pat@body.json:$.outer[key]"]);
  });

  it("sniffs JSON sent as text/plain", () => {
    const verdict = scan({
      body: { bytes: Buffer.from(JSON.stringify([{ k: PEM }])), contentType: "text/plain" },
    });
    expect(where(verdict)).toEqual(["private-key@body.json:$[0].k"]);
  });

  it("finds an AWS secret key next to its JSON name, even double-encoded", () => {
    const aws = FAKE_CREDENTIALS["aws-secret-access-key"]?.hit.split(" = ")[1] ?? "";
    const inner = JSON.stringify({ SecretAccessKey: aws });
    expect(where(scan({ body: json({ Credentials: { SecretAccessKey: aws } }) }))).toEqual([
      "aws-secret-access-key@body.json:$.Credentials.SecretAccessKey",
    ]);
    expect(where(scan({ body: json({ wrapped: inner }) }))[0]).toMatch(/^aws-secret-access-key@/);
  });

  it("decodes form bodies and names the field", () => {
    const body = {
      bytes: Buffer.from(
        `user=me&pass=${encodeURIComponent(SECRET)}&x=${encodeURIComponent(TOKEN)}`,
      ),
      contentType: "application/x-www-form-urlencoded",
    };
    expect(where(scan({ body })).sort()).toEqual([
      "github-pat@body.form:x",
      "known-secret@body.form:pass",
    ]);
  });

  it("inflates gzip, deflate (zlib and raw) and br bodies", () => {
    const plain = Buffer.from(`data ${TOKEN} data`);
    for (const [encoding, bytes] of [
      ["gzip", gzipSync(plain)],
      ["deflate", deflateSync(plain)],
      ["deflate", deflateRawSync(plain)],
      ["br", brotliCompressSync(plain)],
      ["gzip, br", brotliCompressSync(gzipSync(plain))],
    ] as const) {
      expect(where(scan({ body: { bytes, contentEncoding: encoding } })), encoding).toEqual([
        "github-pat@body",
      ]);
    }
  });

  it("refuses what it cannot decode, and bombs", () => {
    const bytes = Buffer.from("abc");
    expect(scan({ body: { bytes, contentEncoding: "zstd" } })).toEqual({
      status: "unscannable",
      reason: "encoding",
      detail: 'content-encoding "zstd"',
    });
    expect(scan({ body: { bytes, contentEncoding: "gzip" } })).toEqual({
      status: "unscannable",
      reason: "encoding",
      detail: "corrupt gzip body",
    });
    const small = createDlpScanner({ maxDecodedBytes: 1024 });
    expect(
      small.scan({ body: { bytes: gzipSync(Buffer.alloc(4096)), contentEncoding: "gzip" } }),
    ).toEqual({
      status: "unscannable",
      reason: "too-large",
      detail: "gzip body inflates past 1024 bytes",
    });
  });

  it("labels findings in other payloads", () => {
    const verdict = scan({ body: { bytes: Buffer.from(TOKEN), label: "websocket" } });
    expect(where(verdict)).toEqual(["github-pat@websocket"]);
  });
});

describe("createDlpScanner: known secrets", () => {
  const embedded = (prefix: string) => Buffer.from(`${prefix}${SECRET}"}`);

  it("finds the value verbatim, in hex and in base64 at every alignment", () => {
    const forms = [
      SECRET,
      Buffer.from(SECRET).toString("hex"),
      Buffer.from(SECRET).toString("hex").toUpperCase(),
      ...["", "a", "ab"].flatMap((p) => [
        embedded(`{"k":"${p}`).toString("base64"),
        embedded(`{"k":"${p}`).toString("base64url"),
      ]),
    ];
    for (const form of forms) {
      const verdict = scan({ body: { bytes: Buffer.from(`x=${form};`) } });
      expect(verdict, form).toMatchObject({
        status: "findings",
        findings: [
          {
            ruleId: "known-secret",
            secretName: "DB_PASSWORD",
            preview: expect.stringMatching(/^…\(\d+ chars\)$/),
          },
        ],
      });
    }
  });

  it("reports secrets too short to match safely, and ignores them", () => {
    const s = createDlpScanner({ knownSecrets: [{ name: "PIN", value: "1234" }] });
    expect(s.skippedSecrets).toEqual([{ name: "PIN", reason: "shorter than 8 characters" }]);
    expect(s.scan({ body: { bytes: Buffer.from("1234") } })).toEqual({ status: "clean" });
  });
});

describe("createDlpScanner: secrets allowed to their own service", () => {
  const token = FAKE_CREDENTIALS["anthropic-api-key"]?.hit ?? "";
  const s = createDlpScanner({
    knownSecrets: [
      { name: "MODEL_TOKEN", value: token },
      { name: "DB_PASSWORD", value: SECRET },
    ],
  });
  const target = { headers: [["authorization", `Bearer ${token}`]] as [string, string][] };

  it("drops the secret and the rule matching it when the secret is allowed", () => {
    expect(where(s.scan(target)).sort()).toEqual([
      "anthropic-api-key@header:authorization",
      "known-secret@header:authorization",
    ]);
    expect(s.scan(target, { allowedSecrets: new Set(["MODEL_TOKEN"]) })).toEqual({
      status: "clean",
    });
  });

  it("still reports other secrets and other credentials", () => {
    const more = { ...target, query: `p=${SECRET}&t=${TOKEN}` };
    expect(where(s.scan(more, { allowedSecrets: new Set(["MODEL_TOKEN"]) })).sort()).toEqual([
      "github-pat@query",
      "known-secret@query",
    ]);
  });
});
