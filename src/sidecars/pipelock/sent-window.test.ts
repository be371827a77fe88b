import { describe, expect, it } from "vitest";
import { createDlpScanner } from "../../shared/dlp/index.js";
import { SentWindow, wholeOverRequests } from "./sent-window.js";

const SECRET = "CbWindow-5e8d1c7a2b9f-Rt4Yp7Kq";
const HALF = Math.floor(SECRET.length / 2);
const scanner = createDlpScanner({ knownSecrets: [{ name: "AGENT_SECRET", value: SECRET }] });
const every = (step: number, phase: number) =>
  [...SECRET].filter((_, i) => i % step === phase).join("");

/** Sends each body as one request through the window; the findings of each. */
function send(window: SentWindow, bodies: readonly string[], block = true) {
  return bodies.map((text) => {
    const verdict = scanner.scan({ body: { bytes: Buffer.from(text) } });
    expect(verdict.status).toBe("clean");
    return wholeOverRequests(window, verdict.pieces, text.length, block).map((f) => f.secretName);
  });
}

describe("SentWindow", () => {
  it("refuses the request that sends the last half, and keeps refusing it", () => {
    const window = new SentWindow();
    const first = `note=${SECRET.slice(0, HALF)} and more`;
    const last = `other=${SECRET.slice(HALF)}`;
    expect(send(window, [first, "unrelated", last, last])).toEqual([
      [],
      [],
      ["AGENT_SECRET"],
      ["AGENT_SECRET"],
    ]);
  });

  it("joins interleaved characters: every 2nd, and every 3rd, at each phase", () => {
    expect(send(new SentWindow(), [every(2, 0), every(2, 1)])).toEqual([[], ["AGENT_SECRET"]]);
    expect(send(new SentWindow(), [every(3, 2), every(3, 0), every(3, 1)])).toEqual([
      [],
      [],
      ["AGENT_SECRET"],
    ]);
  });

  it("joins three pieces in any order, reversed and hex ones too", () => {
    const a = SECRET.slice(0, 10);
    const b = SECRET.slice(10, 20);
    const c = SECRET.slice(20);
    const reversedB = [...b].reverse().join("");
    const hexC = Buffer.from(c).toString("hex");
    expect(send(new SentWindow(), [c, a, b])).toEqual([[], [], ["AGENT_SECRET"]]);
    expect(send(new SentWindow(), [a, reversedB, `x=${hexC}`])).toEqual([[], [], ["AGENT_SECRET"]]);
  });

  it("lets unrelated halves of text that is not a secret pass", () => {
    const clean = "NotASecret-0123456789AB-abcdef012345";
    const h = clean.length / 2;
    expect(send(new SentWindow(), [clean.slice(0, h), clean.slice(h), clean])).toEqual([
      [],
      [],
      [],
    ]);
  });

  it("forgets pieces sent more than the window's bytes ago", () => {
    const window = new SentWindow(1000);
    expect(send(window, [SECRET.slice(0, HALF), "x".repeat(1000), SECRET.slice(HALF)])).toEqual([
      [],
      [],
      [],
    ]);
  });

  it("does not record a refused request's pieces; in warn mode it does, and reports", () => {
    const window = new SentWindow();
    const halves = [SECRET.slice(0, HALF), SECRET.slice(HALF)];
    expect(send(window, halves, false)).toEqual([[], ["AGENT_SECRET"]]);
    const blocking = new SentWindow();
    send(blocking, [SECRET.slice(0, HALF)]);
    // The second half was refused, so it was never sent: with only the first 8 characters of
    // it sent next, the secret is still not whole.
    expect(send(blocking, [SECRET.slice(HALF), SECRET.slice(HALF, HALF + 8)])).toEqual([
      ["AGENT_SECRET"],
      [],
    ]);
  });

  it("says which secret, never its characters", () => {
    const window = new SentWindow();
    send(window, [SECRET.slice(0, HALF)]);
    const verdict = scanner.scan({ body: { bytes: Buffer.from(SECRET.slice(HALF)) } });
    const findings = wholeOverRequests(window, verdict.pieces, 10, true);
    expect(findings).toEqual([
      {
        ruleId: "known-secret",
        description: "the value of secret AGENT_SECRET, cut over requests",
        location: "requests",
        preview: `…(${SECRET.length} chars)`,
        secretName: "AGENT_SECRET",
      },
    ]);
    expect(JSON.stringify(findings)).not.toContain(SECRET.slice(HALF, HALF + 8));
  });
});
