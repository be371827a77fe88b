import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { placeValues, valueText } from "./place-values.js";
import { createDlpScanner } from "./scanner.js";

const SECRET = "CbJoin-7f3a9c2e1d4b-Qx8Wz5Lm";
const HALF = Math.floor(SECRET.length / 2);
const A = SECRET.slice(0, HALF);
const B = SECRET.slice(HALF);
const scanner = createDlpScanner({ knownSecrets: [{ name: "AGENT_SECRET", value: SECRET }] });
const json = (value: unknown) => ({
  bytes: Buffer.from(JSON.stringify(value)),
  contentType: "application/json",
});
const form = (text: string) => ({
  bytes: Buffer.from(text),
  contentType: "application/x-www-form-urlencoded",
});

describe("placeValues", () => {
  it("reads each place's values in order, decoded", () => {
    const got = placeValues({
      path: "/a%2Fb/c",
      query: "x=1&y=two+words&z",
      headers: [
        ["X-One", "first"],
        ["Cookie", "s=%41B; t=cd"],
      ],
      body: form("f=v%20w&g=2"),
    });
    expect(got).toEqual({
      ok: true,
      values: ["a/b", "c", "1", "two words", "z", "first", "s=%41B; t=cd", "AB", "cd", "v w", "2"],
      bytes: 40,
    });
  });

  it("takes JSON string and number members in document order, without keys", () => {
    const got = placeValues({ body: json({ b: "one", a: [2, { c: "three" }, null, true] }) });
    expect(got).toMatchObject({ ok: true, values: ["one", "2", "three"] });
  });

  it("takes a body that is not JSON or a form whole, and JSON that does not parse whole", () => {
    const texts = (got: ReturnType<typeof placeValues>) =>
      got.ok ? got.values.map((v) => valueText(v)) : [];
    expect(texts(placeValues({ body: { bytes: Buffer.from("plain text \xe9") } }))).toEqual([
      "plain text \u00c3\u00a9",
    ]);
    expect(
      texts(
        placeValues({ body: { bytes: Buffer.from('{"a": "b"'), contentType: "application/json" } }),
      ),
    ).toEqual(['{"a": "b"']);
  });

  it("reads a value's characters as latin1, from bytes or text alike", () => {
    expect(valueText(Buffer.from("abc\u00e9"), 1)).toBe("bc\u00c3\u00a9");
    expect(valueText("abcdef", 2, 4)).toBe("cd");
  });

  it("keeps non-ASCII JSON strings as their UTF-8 bytes", () => {
    expect(placeValues({ body: json({ a: "é" }) })).toMatchObject({ values: ["\u00c3\u00a9"] });
  });

  it("answers too many past the bound, never a part", () => {
    const got = placeValues(
      { query: Array.from({ length: 11 }, (_, i) => `k=${i}`).join("&") },
      10,
    );
    expect(got).toEqual({ ok: false, count: 11 });
  });
});

describe("scan joins the values of every place", () => {
  const blocked = (target: Parameters<typeof scanner.scan>[0]) => {
    const verdict = scanner.scan(target);
    return verdict.status === "findings" && verdict.findings.some((f) => f.secretName);
  };

  it.each([
    ["two form fields", { body: form(`a=${A}&b=${B}`) }],
    ["two form fields, reversed order", { body: form(`b=${B}&a=${A}`) }],
    ["two form fields, a field between", { body: form(`a=${A}&x=1&b=${B}`) }],
    ["two JSON members", { body: json({ a: A, b: B }) }],
    ["two JSON members, nested", { body: json({ a: { deep: [A] }, z: { b: B } }) }],
    ["two JSON members, reversed order", { body: json({ b: B, a: A }) }],
    ["two path segments", { path: `/${A}/${B}` }],
    ["two path segments, percent-encoded", { path: `/${encodeURIComponent(A)}/x/${B}` }],
    ["two query parameters", { query: `a=${A}&b=${B}` }],
    ["two query parameters, reversed order", { query: `b=${B}&a=${A}` }],
    ["two cookies", { headers: [["Cookie", `a=${A}; b=${B}`]] as [string, string][] }],
    [
      "a header and the body",
      { headers: [["X-Note", A]] as [string, string][], body: { bytes: Buffer.from(B) } },
    ],
    ["a path segment and a query parameter", { path: `/${A}`, query: `b=${B}` }],
    ["a query parameter and a JSON member", { query: `a=${A}`, body: json({ b: B }) }],
    [
      "three pieces in order",
      { body: form(`a=${SECRET.slice(0, 9)}&b=${SECRET.slice(9, 18)}&c=${SECRET.slice(18)}`) },
    ],
    [
      "a cookie and a path segment",
      { path: `/x/${B}`, headers: [["Cookie", `a=${A}`]] as [string, string][] },
    ],
  ])("finds a secret cut between %s", (_name, target) => {
    expect(blocked(target)).toBe(true);
  });

  it("joins only the ends of a long value; pieces apart inside it are the sent window's", () => {
    const tail = `${"x".repeat(100_000)}${B}`;
    const target = {
      headers: [["X-Note", A]] as [string, string][],
      body: { bytes: Buffer.from(tail) },
    };
    expect(blocked(target)).toBe(false);
    expect(scanner.scan(target).pieces).toEqual([
      { secretName: "AGENT_SECRET", length: SECRET.length, ranges: [0, SECRET.length] },
    ]);
    const head = Buffer.from(`${B}${"x".repeat(100_000)}`);
    expect(blocked({ headers: [["X-Note", A]], body: { bytes: head } })).toBe(true);
    const fields = `a=${"y".repeat(50_000)}${A}&b=${B}${"z".repeat(50_000)}`;
    expect(blocked({ body: form(fields) })).toBe(true);
  });

  it("lets values that join to no secret pass", () => {
    const clean = "NotASecret-0123456789AB-abcdef012345";
    const h = clean.length / 2;
    const verdict = scanner.scan({
      path: `/${clean.slice(0, h)}/${clean.slice(h)}`,
      query: `a=${clean.slice(0, h)}&b=${clean.slice(h)}`,
      headers: [["Cookie", `a=${clean.slice(0, h)}; b=${clean.slice(h)}`]],
      body: json({ a: clean.slice(0, h), b: clean.slice(h) }),
    });
    expect(verdict.status).toBe("clean");
    expect(verdict.pieces).toBeUndefined();
  });

  it("refuses a request with more values than it joins", () => {
    const query = Array.from({ length: 70_000 }, () => "k=v").join("&");
    expect(scanner.scan({ query })).toMatchObject({ status: "unscannable" });
  });

  it("refuses a request whose joined values pass the decoded-bytes bound", () => {
    const small = createDlpScanner({ knownSecrets: [], maxDecodedBytes: 1000 });
    const words = "a few plain words ".repeat(3);
    const headers = Array.from({ length: 30 }, (_, i): [string, string] => [`X-${i}`, words]);
    expect(small.scan({ headers })).toEqual({
      status: "unscannable",
      reason: "too-large",
      detail: "the request's values, joined, pass the size limit",
    });
    expect(small.scan({ headers: headers.slice(0, 10) })).toEqual({ status: "clean" });
  });

  it("reports the pieces a request carried, by position, never their text", () => {
    const verdict = scanner.scan({ body: form(`a=x${A}y`) });
    expect(verdict.status).toBe("clean");
    expect(verdict.pieces).toEqual([
      { secretName: "AGENT_SECRET", length: SECRET.length, ranges: [0, HALF] },
    ]);
    expect(JSON.stringify(verdict)).not.toContain(A);
  });

  it("finds a piece in every place and spelling a value is read in", () => {
    const escaped = [...A].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    const percent = [...A].map((c) => `%${c.charCodeAt(0).toString(16)}`).join("");
    const cases: [string, Parameters<typeof scanner.scan>[0]][] = [
      [
        "a JSON member in \\u escapes",
        { body: { ...json({}), bytes: Buffer.from(`{"m":"${escaped.join("")}"}`) } },
      ],
      ["a JSON number member", { body: json({ n: 12345678901 }) }],
      ["a percent-encoded path segment", { path: `/x/${percent}/y` }],
      ["a query value with + and %", { query: `q=a+${percent}` }],
      ["a cookie", { headers: [["Cookie", `s=${percent}; t=1`]] }],
      ["a form field", { body: form(`f=${percent}+z`) }],
      ["a header", { headers: [["X-Note", `say ${A.toUpperCase()}`]] }],
      ["a body in its content encoding", { body: { bytes: gzipSync(A), contentEncoding: "gzip" } }],
    ];
    const digits = createDlpScanner({
      knownSecrets: [
        { name: "AGENT_SECRET", value: SECRET },
        { name: "PIN", value: "12345678901234" },
      ],
    });
    for (const [place, target] of cases) {
      const verdict = digits.scan(target);
      expect({ place, pieces: verdict.pieces?.length ?? 0 }).toEqual({ place, pieces: 1 });
    }
  });

  it("reports every other character as pieces of the positions it covers", () => {
    const even = [...SECRET].filter((_, i) => i % 2 === 0).join("");
    const verdict = scanner.scan({ body: { bytes: Buffer.from(`n=${even.toLowerCase()}`) } });
    const evens = verdict.pieces?.[0]?.ranges ?? [];
    expect(evens.length / 2).toBe(Math.ceil(SECRET.length / 2));
    expect(evens.slice(0, 4)).toEqual([0, 1, 2, 3]);
  });

  it("leaves out the pieces of a secret the request may carry", () => {
    const verdict = scanner.scan(
      { body: { bytes: Buffer.from(A) } },
      { allowedSecrets: new Set(["AGENT_SECRET"]) },
    );
    expect(verdict).toEqual({ status: "clean" });
  });
});
