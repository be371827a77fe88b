// Who may talk to the dashboard. It listens on 127.0.0.1 only, but every page the user's
// browser opens can send requests there, and a DNS name can be rebound to 127.0.0.1; so each
// request must name us in Host, come from our own origin, and carry the session cookie that
// only the holder of the printed one-time token could get. A state change also needs the
// session's CSRF header. Pure: the server feeds it request facts, it returns a verdict.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { PAGE_STYLE_HASH } from "./page-assets.js";

export const SESSION_COOKIE = "cb_dashboard";
export const CSRF_HEADER = "x-csrf-token";
export const TOKEN_HEADER = "x-dashboard-token";

/**
 * The page's Content Security Policy: nothing but our own scripts, connections and the one
 * stylesheet in the page, named by its hash (no style attribute, no other style element).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src '${PAGE_STYLE_HASH}'`,
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The facts of a request that decide whether it may go on. */
export interface RequestFacts {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  /** Sec-Fetch-Site, which browsers send on every request. */
  fetchSite: string | undefined;
}

export type Refusal = { status: 401 | 403; reason: string };

/** The origins the page itself is served from. */
export function ownOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

export function isStateChange(method: string): boolean {
  return !["GET", "HEAD"].includes(method.toUpperCase());
}

/**
 * Host and origin, for every request, the event stream and the static files included. A
 * state change must say where it comes from: browsers always send Origin on a POST.
 */
export function screenRequest(facts: RequestFacts, port: number): Refusal | null {
  const host = facts.host?.toLowerCase();
  if (host === undefined || !ownOrigins(port).some((o) => o === `http://${host}`)) {
    return { status: 403, reason: "the Host header does not name this dashboard" };
  }
  if (facts.origin !== undefined && !ownOrigins(port).includes(facts.origin.toLowerCase())) {
    return { status: 403, reason: "cross-origin requests are refused" };
  }
  const site = facts.fetchSite?.toLowerCase();
  if (site !== undefined && site !== "same-origin" && site !== "none") {
    return { status: 403, reason: "cross-site requests are refused" };
  }
  if (isStateChange(facts.method) && facts.origin === undefined) {
    return { status: 403, reason: "a change must come from the dashboard's own page" };
  }
  return null;
}

/** The value of one cookie in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface Session {
  id: string;
  csrf: string;
}

/**
 * The one-time tokens and the sessions they were exchanged for. Each token works once: a URL
 * left in a terminal's scrollback or a shell history is worthless after the first load. The
 * printed token lasts as long as the dashboard; one added later (`dashboard --login`) for a
 * limited time.
 */
export class SessionStore {
  /** Each unspent token → when it stops working (ms since the epoch; Infinity: never). */
  private readonly tokens = new Map<string, number>();
  private readonly sessions = new Map<string, Session>();

  constructor(
    token: string,
    private readonly random: (bytes: number) => string = (n) => randomBytes(n).toString("hex"),
    private readonly clock: () => number = Date.now,
  ) {
    this.tokens.set(token, Number.POSITIVE_INFINITY);
  }

  /** Another one-time token, for a new sign-in link, working until `expiresAt` (ms). */
  addToken(token: string, expiresAt: number): void {
    this.tokens.set(token, expiresAt);
  }

  /** A new session for a right token, the first time only; null otherwise. */
  exchange(offered: string | undefined): Session | null {
    if (offered === undefined) return null;
    const now = this.clock();
    let matched: string | null = null;
    for (const [token, expiresAt] of this.tokens) {
      if (expiresAt < now) this.tokens.delete(token);
      else if (sameSecret(offered, token)) matched = token;
    }
    if (matched === null) return null;
    this.tokens.delete(matched);
    const session = { id: this.random(32), csrf: this.random(32) };
    this.sessions.set(session.id, session);
    return session;
  }

  find(cookieHeader: string | undefined): Session | null {
    const id = cookieValue(cookieHeader, SESSION_COOKIE);
    if (id === null) return null;
    for (const session of this.sessions.values()) {
      if (sameSecret(session.id, id)) return session;
    }
    return null;
  }

  /** The session, if this request has one and, for a change, its CSRF header. */
  authorize(facts: {
    method: string;
    cookie: string | undefined;
    csrf: string | undefined;
  }): Session | Refusal {
    const session = this.find(facts.cookie);
    if (session === null)
      return { status: 401, reason: "no session: open the URL the dashboard printed" };
    if (
      isStateChange(facts.method) &&
      (facts.csrf === undefined || !sameSecret(facts.csrf, session.csrf))
    ) {
      return { status: 403, reason: "missing or wrong CSRF header" };
    }
    return session;
  }
}

/** Set-Cookie for a session: unreadable by scripts, never sent from another site. */
export function sessionCookie(session: Session): string {
  return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict`;
}
