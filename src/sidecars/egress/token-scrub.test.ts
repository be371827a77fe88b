import { describe, expect, it } from "vitest";
import type { ResolvedRoute } from "./routes-config.js";
import {
  placeholderOf,
  routeSecrets,
  scrubText,
  TokenScrubber,
  tokenForms,
} from "./token-scrub.js";

const TOKEN = 'tok/en+with"odd\\chars=0123456789';
const FORMS = tokenForms([TOKEN]);
const P = placeholderOf(Buffer.byteLength(TOKEN));

/** Every way the token may be echoed, each inside some text. */
function echoes(token: string): string[] {
  const bytes = Buffer.from(token);
  const out = [
    token,
    bytes.toString("hex"),
    bytes.toString("hex").toUpperCase(),
    encodeURIComponent(token),
    encodeURIComponent(token).toLowerCase(),
    JSON.stringify(token),
    JSON.stringify(token).replace(/\//g, "\\/"),
  ];
  for (const pad of ["", "a", "ab"]) {
    const b64 = Buffer.from(`${pad}${token}${pad}`);
    out.push(b64.toString("base64"), b64.toString("base64url"));
  }
  return out.map((e) => `before ${e} after`);
}

/** The DLP's idea of each form, as a test oracle independent of the scrubber. */
function leaks(text: string, token: string): string[] {
  const bytes = Buffer.from(token);
  const found: string[] = [];
  const needles = [token, bytes.toString("hex"), bytes.toString("hex").toUpperCase()];
  for (const pad of ["", "x", "xy"]) {
    const b64 = Buffer.from(pad + token).toString("base64");
    const core = b64.slice(pad === "" ? 0 : pad.length + 1, -4);
    needles.push(core, core.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  needles.push(encodeURIComponent(token), JSON.stringify(token).slice(1, -1));
  for (const n of needles) if (text.includes(n)) found.push(n);
  return found;
}

function streamed(forms: ReturnType<typeof tokenForms>, pieces: Buffer[]): string {
  const s = new TokenScrubber(forms);
  const out = pieces.map((p) => s.push(p));
  out.push(s.finish());
  return Buffer.concat(out).toString("latin1");
}

describe("placeholderOf", () => {
  it("is as long as asked and made of [a-z-] only", () => {
    for (const n of [1, 8, 19, 20, 64]) {
      expect(placeholderOf(n)).toHaveLength(n);
      expect(placeholderOf(n)).toMatch(/^[a-z-]+$/);
    }
  });
});

describe("scrubText", () => {
  it.each(echoes(TOKEN))("takes the token out of %s, keeping the length", (text) => {
    const out = scrubText(FORMS, text);
    expect(leaks(out, TOKEN)).toEqual([]);
    expect(out.startsWith("before ")).toBe(true);
    expect(out.endsWith(" after")).toBe(true);
    expect(out).toHaveLength(text.length);
  });

  it("puts the same form of the placeholder where the token was", () => {
    expect(scrubText(FORMS, `a${TOKEN}b`)).toBe(`a${P}b`);
    expect(scrubText(FORMS, Buffer.from(TOKEN).toString("hex"))).toBe(
      Buffer.from(P).toString("hex"),
    );
    const b64 = Buffer.from(`xy${TOKEN}`).toString("base64");
    expect(Buffer.from(scrubText(FORMS, b64), "base64").toString("latin1")).toContain(
      P.slice(1, -1),
    );
  });

  it("leaves text without the token untouched, and works with no routes", () => {
    expect(scrubText(FORMS, "nothing here tok/en+with")).toBe("nothing here tok/en+with");
    expect(scrubText([], `x${TOKEN}`)).toBe(`x${TOKEN}`);
  });
});

describe("TokenScrubber", () => {
  it("finds the token in every form split at every byte", () => {
    for (const text of echoes(TOKEN)) {
      const bytes = Buffer.from(text, "latin1");
      for (let cut = 0; cut <= bytes.length; cut++) {
        const out = streamed(FORMS, [bytes.subarray(0, cut), bytes.subarray(cut)]);
        expect(leaks(out, TOKEN), `${text} cut at ${cut}`).toEqual([]);
        expect(out).toHaveLength(bytes.length);
      }
    }
  });

  it("finds it one byte at a time", () => {
    const text = Buffer.from(`data: ${TOKEN}\n\n`);
    const out = streamed(
      FORMS,
      [...text].map((b) => Buffer.from([b])),
    );
    expect(out).toBe(`data: ${P}\n\n`);
  });

  it("holds back only a tail that could begin a form, so an event goes out at once", () => {
    const s = new TokenScrubber(FORMS);
    expect(s.push(Buffer.from("data: first\n\n")).toString()).toBe("data: first\n\n");
    expect(s.push(Buffer.from(`data: ${TOKEN.slice(0, 5)}`)).toString()).toBe("data: ");
    expect(s.push(Buffer.from(`${TOKEN.slice(5)}\n\n`)).toString()).toBe(`${P}\n\n`);
    expect(s.finish().toString()).toBe("");
  });

  it("gives back a held tail that turned out not to be the token", () => {
    const s = new TokenScrubber(FORMS);
    expect(s.push(Buffer.from("x tok/en")).toString()).toBe("x ");
    expect(s.finish().toString()).toBe("tok/en");
  });
});

describe("routeSecrets", () => {
  const route = (
    scheme: ResolvedRoute["scheme"],
    name: "authorization" | "x-api-key",
    value: string,
  ) =>
    ({
      host: "h.test",
      paths: ["/"],
      methods: "all",
      scheme,
      tokenEnv: "T",
      header: { name, value },
    }) as ResolvedRoute;

  it("knows each scheme's credential, and Basic's user:pass too", () => {
    const basic = Buffer.from("robot:pass-9a8b").toString("base64");
    expect(
      routeSecrets([
        route("Bearer", "authorization", "Bearer b-token-1"),
        route("token", "authorization", "token t-token-2"),
        route("x-api-key", "x-api-key", "k-token-3"),
        route("Basic", "authorization", `Basic ${basic}`),
      ]),
    ).toEqual(["b-token-1", "t-token-2", "k-token-3", basic, "robot:pass-9a8b"]);
  });
});
