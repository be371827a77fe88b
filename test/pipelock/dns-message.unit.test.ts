import { describe, expect, it } from "vitest";
import { decodeDnsParameter, parseDnsQuery } from "../../src/sidecars/pipelock/dns-message.js";
import { dnsQuery, encodeName } from "../support/sidecars/pipelock-dns-query.js";

describe("parseDnsQuery", () => {
  it("reads every question and the additional records' names", () => {
    expect(parseDnsQuery(dnsQuery(["example.com"], true))).toEqual({
      ok: true,
      names: [["example", "com"], []],
    });
    expect(parseDnsQuery(dnsQuery(["a.example.com", "b.example.org"]))).toEqual({
      ok: true,
      names: [
        ["a", "example", "com"],
        ["b", "example", "org"],
      ],
    });
  });

  it("follows a compression pointer back to an earlier name", () => {
    // Two questions: www.example.com, then "api" + a pointer to "example.com" at offset 16.
    const header = Buffer.from([0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    const first = Buffer.concat([encodeName("www.example.com"), Buffer.from([0, 1, 0, 1])]);
    const second = Buffer.from([3, ...Buffer.from("api"), 0xc0, 16, 0, 1, 0, 1]);
    expect(parseDnsQuery(Buffer.concat([header, first, second]))).toEqual({
      ok: true,
      names: [
        ["www", "example", "com"],
        ["api", "example", "com"],
      ],
    });
  });

  it("refuses compression loops, forward pointers and pointers into the header", () => {
    const header = Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const self = Buffer.concat([header, Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    const forward = Buffer.concat([header, Buffer.from([0xc0, 14, 0, 0, 1, 0, 1])]);
    const intoHeader = Buffer.concat([header, Buffer.from([0xc0, 2, 0, 1, 0, 1])]);
    // "a" then a pointer back to "a": each jump goes back, the name never ends.
    const loop = Buffer.concat([header, Buffer.from([1, 97, 0xc0, 12, 0, 1, 0, 1])]);
    for (const bytes of [self, forward, intoHeader, loop]) {
      expect(parseDnsQuery(bytes)).toMatchObject({ ok: false });
    }
    expect(parseDnsQuery(loop)).toEqual({
      ok: false,
      detail: "a compression pointer that does not point back",
    });
  });

  it("refuses what a plain query does not hold", () => {
    const good = dnsQuery(["example.com"]);
    const cases: [string, Buffer][] = [
      ["short", good.subarray(0, 11)],
      ["truncated name", good.subarray(0, 16)],
      ["no qtype", good.subarray(0, good.length - 2)],
      ["trailing byte", Buffer.concat([good, Buffer.from([0])])],
      ["response", Buffer.from(good).fill(0x81, 2, 3)],
      ["opcode", Buffer.from(good).fill(0x28, 2, 3)],
      ["no question", Buffer.from(good).fill(0, 5, 6)],
      ["answers", Buffer.from(good).fill(1, 7, 8)],
      ["authority", Buffer.from(good).fill(1, 9, 10)],
      ["additional without a record", Buffer.from(good).fill(1, 11, 12)],
      ["too many questions", dnsQuery(["a.b", "c.d", "e.f", "g.h", "i.j"])],
      [
        "extended label type",
        Buffer.concat([good.subarray(0, 12), Buffer.from([0x41, 0, 0, 1, 0, 1])]),
      ],
      [
        "name over 255 bytes",
        dnsQuery([Array.from({ length: 5 }, () => "x".repeat(60)).join(".")]),
      ],
    ];
    for (const [name, bytes] of cases) {
      expect(parseDnsQuery(bytes).ok, name).toBe(false);
    }
  });
});

describe("decodeDnsParameter", () => {
  it("takes unpadded base64url only", () => {
    const query = dnsQuery(["example.com"]);
    expect(Buffer.from(decodeDnsParameter(query.toString("base64url")) ?? [])).toEqual(query);
    expect(decodeDnsParameter(`${query.toString("base64url")}=`)).toBeUndefined();
    expect(decodeDnsParameter("ab+c")).toBeUndefined();
    expect(decodeDnsParameter("abcde")).toBeUndefined();
  });
});
