import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../../../test/support/fixtures/fake-credentials.js";
import type { DlpVerdict, ScanBody, ScanTarget } from "./scan-types.js";
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

describe("createDlpScanner: spellings of a known secret", () => {
  const value = "Hunter2-Is-Not-A-Good-Password";
  const s = createDlpScanner({ knownSecrets: [{ name: "DB_PASSWORD", value }] });
  const hex = [...Buffer.from(value)].map((b) => b.toString(16).padStart(2, "0"));
  const body = (text: string | Buffer, extra: Partial<ScanBody> = {}) => ({
    body: { bytes: typeof text === "string" ? Buffer.from(text, "latin1") : text, ...extra },
  });
  const found = (target: ScanTarget) => {
    const verdict = s.scan(target);
    const serialized = JSON.stringify(verdict);
    expect(serialized).not.toContain(value);
    expect(serialized.toLowerCase()).not.toContain(value.toLowerCase());
    return verdict.status === "findings"
      ? verdict.findings.map((f) => `${f.encoding}@${f.location}`)
      : [verdict.status];
  };
  const invisible = (sep: string) => Buffer.from([...value].join(sep), "utf8").toString("latin1");
  const gzB64 = gzipSync(Buffer.from(`{"k":"${value}"}`)).toString("base64");
  const wrap76 = (text: string) => text.replace(/.{1,76}/g, "$&\r\n");

  it.each([
    ["lowercase", `x ${value.toLowerCase()} y`, "case-changed@body"],
    ["uppercase", `x ${value.toUpperCase()} y`, "case-changed@body"],
    ["reversed", `x ${[...value].reverse().join("")} y`, "reversed@body"],
    ["UTF-16LE", Buffer.from(`x ${value} y`, "utf16le"), "utf-16le@body"],
    ["UTF-16BE", Buffer.from(`x ${value} y`, "utf16le").swap16(), "utf-16be@body"],
    ["zero-width spaces", `x ${invisible("\u200b")} y`, "verbatim@body~invisible"],
    ["soft hyphens", `x ${invisible("\u00ad")} y`, "verbatim@body~invisible"],
    ["word joiners", `x ${invisible("\u2060")} y`, "verbatim@body~invisible"],
    ["hex with colons", hex.join(":"), "hex-separated@body"],
    ["hex as \\x", hex.map((h) => `\\x${h}`).join(""), "hex-separated@body"],
    [
      "hex as \\x, uppercase",
      hex.map((h) => `\\x${h.toUpperCase()}`).join(""),
      "case-changed@body",
    ],
    ["hex with spaces", hex.join(" "), "hex-separated@body"],
    ["hex as 0x, list", hex.map((h) => `0x${h}`).join(", "), "hex-separated@body"],
    ["base64 of gzip", `data=${gzB64}&x`, "verbatim@body~base64~gzip"],
    ["raw gzip, undeclared", gzipSync(Buffer.from(value)), "verbatim@body~gzip"],
    [
      "base64 of base64",
      Buffer.from(`k:${Buffer.from(`v=${value}`).toString("base64")}`).toString("base64"),
      "base64-twice@body",
    ],
    [
      "base64 of UTF-16LE",
      Buffer.from(value, "utf16le").toString("base64"),
      "base64-utf-16le@body",
    ],
  ] as const)("finds it %s", (_, text, expected) => {
    expect(found(body(text))).toContain(expected);
  });

  it("finds it in multipart parts: base64 wrapped at 76 columns, quoted-printable", () => {
    const long = `${"padding ".repeat(7)}${value}`;
    const b64 = wrap76(Buffer.from(long).toString("base64"));
    const qp = `${long.slice(0, 60)}=\r\n${long.slice(60)}`.replace(/-/g, "=2D");
    for (const [cte, text] of [
      ["base64", b64],
      ["quoted-printable", qp],
    ] as const) {
      const multipart = [
        "--BOUND",
        'Content-Disposition: form-data; name="f"; filename="f.txt"',
        `Content-Transfer-Encoding: ${cte}`,
        "",
        text,
        "--BOUND--",
        "",
      ].join("\r\n");
      // The content type may say anything: the part headers decide.
      for (const contentType of ["multipart/form-data; boundary=BOUND", "text/plain"]) {
        expect(found(body(multipart, { contentType })), `${cte} ${contentType}`).toContain(
          `verbatim@body~${cte}`,
        );
      }
    }
  });

  it("finds UTF-16 inside JSON, as \\u escapes and as raw bytes", () => {
    const escaped = [...Buffer.from(value, "utf16le")]
      .map((b) => `\\u${b.toString(16).padStart(4, "0")}`)
      .join("");
    expect(found(body(`{"d":"${escaped}"}`, { contentType: "application/json" }))).toContain(
      "utf-16le@body.json:$.d",
    );
    expect(found(body(Buffer.from(`{"d":"${value}"}`, "utf16le")))).toContain("utf-16le@body");
  });

  it("finds it split in two headers, adjacent or not, in either order", () => {
    const half = value.length / 2;
    const a = value.slice(0, half);
    const b = value.slice(half);
    for (const headers of [
      [
        ["X-A", a],
        ["X-B", b],
      ],
      [
        ["X-B", b],
        ["Accept", "*/*"],
        ["X-A", `note ${a}`],
      ],
    ] as [string, string][][]) {
      expect(found({ headers })).toEqual(["verbatim@headers"]);
    }
    expect(
      found({
        headers: [
          ["X-A", a],
          ["X-B", "unrelated"],
        ],
      }),
    ).toEqual(["clean"]);
  });

  it("finds credentials (not only known secrets) behind invisible characters and UTF-16", () => {
    const zw = Buffer.from([...TOKEN].join("\u200d"), "utf8");
    expect(where(scan({ body: { bytes: zw } }))).toEqual(["github-pat@body~invisible"]);
    const le = Buffer.from(`t=${TOKEN}`, "utf16le");
    expect(where(scan({ body: { bytes: le } }))).toEqual(["github-pat@body~utf-16"]);
    const headers: [string, string][] = [
      ["X-A", TOKEN.slice(0, 20)],
      ["X-B", TOKEN.slice(20)],
    ];
    expect(where(scan({ headers }))).toEqual(["github-pat@headers"]);
  });

  it("passes clean text of the same shapes", () => {
    const clean = "Not-The-Password-At-All-Really";
    for (const text of [
      Buffer.from(clean, "utf16le"),
      [...clean].join("\u200b"),
      gzipSync(Buffer.from(clean)).toString("base64"),
      [...Buffer.from(clean)].map((b) => b.toString(16)).join(":"),
      `--B\r\nContent-Transfer-Encoding: base64\r\n\r\n${wrap76(Buffer.from(clean.repeat(4)).toString("base64"))}--B--\r\n`,
    ]) {
      expect(found(body(typeof text === "string" ? Buffer.from(text) : text))).toEqual(["clean"]);
    }
  });

  it("refuses nesting deeper than its bound, and decoded bombs", () => {
    let nested = Buffer.from(`x ${value}`);
    for (let i = 0; i < 5; i++) nested = Buffer.from(gzipSync(nested).toString("base64"));
    expect(s.scan(body(nested))).toEqual({
      status: "unscannable",
      reason: "encoding",
      detail: "encodings nested more than 3 deep",
    });
    const small = createDlpScanner({ maxDecodedBytes: 4096 });
    const bomb = gzipSync(Buffer.alloc(1 << 20)).toString("base64");
    expect(small.scan(body(`x=${bomb}`))).toMatchObject({
      status: "unscannable",
      reason: "too-large",
    });
  });

  it("gives a stream scanned in pieces a carry long enough for its longest form", () => {
    expect(s.carryBytes).toBeGreaterThanOrEqual(4 * value.length);
  });
});
