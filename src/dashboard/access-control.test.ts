import { describe, expect, it } from "vitest";
import {
  cookieValue,
  type RequestFacts,
  SessionStore,
  screenRequest,
  sessionCookie,
} from "./access-control.js";

const PORT = 8377;
const get = (over: Partial<RequestFacts>): RequestFacts => ({
  method: "GET",
  host: `127.0.0.1:${PORT}`,
  origin: undefined,
  fetchSite: undefined,
  ...over,
});

describe("screenRequest", () => {
  it("lets through the page's own requests by either name", () => {
    expect(screenRequest(get({}), PORT)).toBeNull();
    expect(screenRequest(get({ host: `LOCALHOST:${PORT}` }), PORT)).toBeNull();
    expect(
      screenRequest(
        get({ method: "POST", origin: `http://127.0.0.1:${PORT}`, fetchSite: "same-origin" }),
        PORT,
      ),
    ).toBeNull();
    expect(screenRequest(get({ fetchSite: "none" }), PORT)).toBeNull();
  });

  it.each([
    ["a rebound name", "evil.test"],
    ["a rebound name on our port", `evil.test:${PORT}`],
    ["another port", `127.0.0.1:${PORT + 1}`],
    ["no port", "127.0.0.1"],
    ["IPv6 loopback", `[::1]:${PORT}`],
    ["a trailing dot", `localhost.:${PORT}`],
    ["decimal loopback", `2130706433:${PORT}`],
    ["a user part", `x@127.0.0.1:${PORT}`],
    ["nothing", undefined],
  ])("refuses a Host of %s", (_what, host) => {
    expect(screenRequest(get({ host }), PORT)).toEqual({
      status: 403,
      reason: "the Host header does not name this dashboard",
    });
  });

  it.each([
    "http://evil.test",
    `http://127.0.0.1:${PORT + 1}`,
    `https://127.0.0.1:${PORT}`,
    "null",
    `http://127.0.0.1:${PORT}.evil.test`,
  ])("refuses Origin %s, for reading as for changing", (origin) => {
    for (const method of ["GET", "POST"]) {
      expect(screenRequest(get({ method, origin }), PORT)).toEqual({
        status: 403,
        reason: "cross-origin requests are refused",
      });
    }
  });

  it.each(["cross-site", "same-site"])("refuses Sec-Fetch-Site %s", (fetchSite) => {
    // A page on another port of 127.0.0.1 is same-site: its cookies would be sent.
    expect(screenRequest(get({ fetchSite }), PORT)?.status).toBe(403);
  });

  it("refuses a change that does not say where it comes from", () => {
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      expect(screenRequest(get({ method }), PORT)).toEqual({
        status: 403,
        reason: "a change must come from the dashboard's own page",
      });
    }
  });
});

describe("SessionStore", () => {
  const ids = ["s1".repeat(32), "c1".repeat(32), "s2".repeat(32), "c2".repeat(32)];
  const store = () => {
    let n = 0;
    return new SessionStore("a".repeat(48), () => ids[n++] ?? "x");
  };

  it("exchanges the token once for a session", () => {
    const s = store();
    expect(s.exchange("b".repeat(48))).toBeNull();
    expect(s.exchange("a".repeat(47))).toBeNull();
    expect(s.exchange(undefined)).toBeNull();
    const session = s.exchange("a".repeat(48));
    expect(session).toEqual({ id: ids[0], csrf: ids[1] });
    expect(s.exchange("a".repeat(48))).toBeNull();
  });

  it("takes added tokens, each once and only until it expires, besides the first", () => {
    let now = 1_000;
    let n = 0;
    const s = new SessionStore(
      "a".repeat(48),
      () => ids[n++] ?? "x",
      () => now,
    );
    s.addToken("b".repeat(48), 2_000);
    s.addToken("c".repeat(48), 5_000);
    expect(s.exchange("b".repeat(48))).toEqual({ id: ids[0], csrf: ids[1] });
    expect(s.exchange("b".repeat(48))).toBeNull();
    now = 6_000;
    expect(s.exchange("c".repeat(48))).toBeNull();
    // The printed one never expires; spent, it is gone too.
    expect(s.exchange("a".repeat(48))).toEqual({ id: ids[2], csrf: ids[3] });
    expect(s.exchange("a".repeat(48))).toBeNull();
  });

  it("needs the cookie for reading and the CSRF header too for changing", () => {
    const s = store();
    const session = s.exchange("a".repeat(48));
    if (session === null) throw new Error("no session");
    const cookie = sessionCookie(session).split(";")[0];
    expect(s.authorize({ method: "GET", cookie, csrf: undefined })).toEqual(session);
    expect(s.authorize({ method: "GET", cookie: undefined, csrf: undefined })).toMatchObject({
      status: 401,
    });
    expect(
      s.authorize({ method: "GET", cookie: "cb_dashboard=forged", csrf: undefined }),
    ).toMatchObject({
      status: 401,
    });
    expect(s.authorize({ method: "POST", cookie, csrf: undefined })).toEqual({
      status: 403,
      reason: "missing or wrong CSRF header",
    });
    expect(s.authorize({ method: "POST", cookie, csrf: session.id })).toMatchObject({
      status: 403,
    });
    expect(s.authorize({ method: "POST", cookie, csrf: session.csrf })).toEqual(session);
  });

  it("sets a cookie scripts cannot read and other sites cannot send", () => {
    expect(sessionCookie({ id: "abc", csrf: "def" })).toBe(
      "cb_dashboard=abc; Path=/; HttpOnly; SameSite=Strict",
    );
  });

  it("reads one cookie among others", () => {
    expect(cookieValue("a=1; cb_dashboard=xyz; b=2", "cb_dashboard")).toBe("xyz");
    expect(cookieValue("xcb_dashboard=1", "cb_dashboard")).toBeNull();
    expect(cookieValue(undefined, "cb_dashboard")).toBeNull();
  });
});
