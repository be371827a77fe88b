// The dashboard's HTTP server: the page and its assets (all served from the package), the
// token-for-cookie exchange, the JSON views, the decision stream (server-sent events) and
// the approve/deny endpoint. Every request passes the access screen first (Host, Origin,
// Sec-Fetch-Site); every API call needs the session cookie, every change its CSRF header.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { BottleError, InputError } from "../shared/errors.js";
import { terminalSafe } from "../shared/terminal-text.js";
import {
  CONTENT_SECURITY_POLICY,
  CSRF_HEADER,
  type Refusal,
  type Session,
  SessionStore,
  screenRequest,
  sessionCookie,
  TOKEN_HEADER,
} from "./access-control.js";
import { bottleCards } from "./bottle-cards.js";
import type { BottleListing, Listing } from "./bottle-listing.js";
import {
  auditView,
  bottlesView,
  decideFromDashboard,
  proposalsView,
  type ViewContext,
} from "./dashboard-views.js";
import type { DecisionEvent } from "./decision-events.js";
import { readEnded, recordBottleEnd } from "./ended-bottles.js";
import { PAGE_JS, pageHtml } from "./page-assets.js";

export interface DashboardServerOptions {
  views: ViewContext;
  /** The one-time token printed in the URL's fragment. */
  token: string;
  /** 0 picks a free port. */
  port: number;
  /** Events sent together in one SSE message when they arrive faster than this (ms). */
  flushEveryMs?: number;
  /** Told of every refused request, one line each (never a token or cookie). */
  log?: (line: string) => void;
  /** The sessions and tokens; one holding `token` when not given. */
  sessions?: SessionStore;
}

export interface RunningDashboard {
  port: number;
  /** The URL to open, with the one-time token in its fragment. */
  url: string;
  /** Accepts one more one-time token (a new sign-in link) until `expiresAt` (ms). */
  addToken(token: string, expiresAt: number): void;
  close(): Promise<void>;
}

/** One stream's backlog beyond which the page is cut off and reconnects from its last id. */
const MAX_BACKLOG = 200_000;
/** How many of the latest decisions a newly opened page is sent. */
const FIRST_REPLAY = 500;
/** How long a page waits for the engine's listing before it is sent without the bottles (ms). */
const FIRST_DRAWING_WAIT_MS = 1500;
/** A listing drawn at once but older than this (ms) is asked for again by the page. */
const STALE_DRAWING_MS = 2000;

function securityHeaders(c: Context): void {
  c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  c.header("Referrer-Policy", "no-referrer");
  // No Cross-Origin-Opener-Policy: Chromium swaps the page into a new process for it, which
  // cost 60-70 ms of a 200 ms first load here (bench/README.md). A page that opens this one
  // gets a handle that can neither read it (same-origin policy) nor frame it (CSP
  // frame-ancestors, X-Frame-Options), nor send it a change (Origin, CSRF header).
  c.header("Cross-Origin-Resource-Policy", "same-origin");
  c.header("Cache-Control", "no-store");
}

const printablePath = (path: string) => path.replace(/[^\x21-\x7e]/g, "?").slice(0, 200);

/** Refuses a request from anything but this dashboard's own page; headers on every answer. */
function screening(port: () => number, refuse: (c: Context, refusal: Refusal) => Response) {
  return async (c: Context, next: () => Promise<void>) => {
    securityHeaders(c);
    const refusal = screenRequest(
      {
        method: c.req.method,
        host: c.req.header("host"),
        origin: c.req.header("origin"),
        fetchSite: c.req.header("sec-fetch-site"),
      },
      port(),
    );
    if (refusal !== null) return refuse(c, refusal);
    await next();
    // A handler may have replaced the response: the headers go on whatever is sent.
    securityHeaders(c);
    return undefined;
  };
}

export function dashboardApp(options: DashboardServerOptions, port: () => number) {
  const sessions = options.sessions ?? new SessionStore(options.token);
  const { views } = options;
  const flushEveryMs = options.flushEveryMs ?? 20;
  const listing = views.listing;
  const { cards, cardsAtOnce } = cardDrawing(views, listing);
  const app = new Hono<{ Variables: { session: Session } }>();
  const refuse = (c: Context, refusal: Refusal): Response => {
    options.log?.(
      `refused ${c.req.method} ${printablePath(c.req.path)} (${refusal.status}): ${refusal.reason}`,
    );
    return c.json({ error: refusal.reason }, refusal.status);
  };

  // Every request is screened (host, origin, fetch site) before anything else runs.
  app.use("*", screening(port, refuse));

  app.get("/", async (c) => {
    // A page opened again with its session has the bottles drawn in: they are on screen with
    // the first paint, not after the script has run and asked. Without one, nothing is.
    const session = sessions.find(c.req.header("cookie"));
    return c.html(pageHtml(session === null ? null : await cardsAtOnce()));
  });
  app.get("/app.js", (c) =>
    c.body(PAGE_JS, 200, { "Content-Type": "text/javascript; charset=utf-8" }),
  );

  app.post("/api/session", async (c) => {
    const session = sessions.exchange(c.req.header(TOKEN_HEADER));
    if (session === null) return refuse(c, { status: 401, reason: "wrong or already used token" });
    c.header("Set-Cookie", sessionCookie(session));
    return c.json({ csrf: session.csrf, cards: await cardsAtOnce() });
  });

  app.use("/api/*", async (c, next) => {
    const verdict = sessions.authorize({
      method: c.req.method,
      cookie: c.req.header("cookie"),
      csrf: c.req.header(CSRF_HEADER),
    });
    if ("status" in verdict) return refuse(c, verdict);
    c.set("session", verdict);
    await next();
    return undefined;
  });

  app.get("/api/csrf", (c) => c.json({ csrf: c.get("session").csrf }));
  app.get("/api/bottles", async (c) =>
    c.json(await bottlesView(views, (await listing.fresh()).found)),
  );
  app.get("/api/bottles/cards", async (c) => c.html(await cards(await listing.fresh())));
  app.get("/api/proposals", async (c) => c.json(await proposalsView(views)));
  app.get("/api/audit", async (c) => c.json(await auditView(views)));

  app.post("/api/bottles/:slug/stop", (c) =>
    stopFromDashboard(c, options, listing, c.req.param("slug")),
  );

  app.post("/api/proposals/:slug/:id/decision", (c) =>
    decisionFromDashboard(c, views, c.req.param("slug"), c.req.param("id")),
  );

  app.get("/api/events", (c) => decisionStream(c, views, flushEveryMs));

  app.notFound((c) => c.json({ error: "not found" }, 404));
  app.onError((error, c) => {
    // The message may quote what a bottle wrote (a queue file, a log line): shown escaped.
    process.stderr.write(
      `dashboard: ${terminalSafe(error instanceof Error ? error.message : String(error))}\n`,
    );
    return c.json({ error: "internal error" }, 500);
  });
  return app;
}

/**
 * The bottles' cards: from a listing, and at once from a recent one for a page drawing them
 * first (null when the engine fails or is slow to answer: the page then asks, and says what
 * went wrong).
 */
function cardDrawing(views: ViewContext, listing: BottleListing) {
  const cards = async (l: Listing) => {
    const [shown, ended] = await Promise.all([
      bottlesView(views, l.found),
      readEnded(views.home, views.now()).catch(() => []),
    ]);
    return bottleCards(
      shown,
      { listedAt: l.listedAt, now: Date.now(), staleAfterMs: STALE_DRAWING_MS },
      ended,
    );
  };
  const cardsAtOnce = async (): Promise<string | null> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), FIRST_DRAWING_WAIT_MS);
    });
    try {
      return await Promise.race([
        listing
          .recent()
          .then(cards)
          .catch(() => null),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  };
  return { cards, cardsAtOnce };
}

/** The stop button: `claude-bottle stop` of a bottle the engine lists, its end recorded. */
async function stopFromDashboard(
  c: Context,
  options: DashboardServerOptions,
  listing: BottleListing,
  slug: string,
): Promise<Response> {
  const views = options.views;
  const stop = views.stopBottle;
  if (stop === undefined) return c.json({ error: "this dashboard cannot stop bottles" }, 501);
  // The slug goes into a command's argv: take it only from what the engine lists.
  const bottle = (await listing.fresh()).found.find((b) => b.slug === slug);
  if (bottle === undefined) return c.json({ error: `no bottle "${slug}" on this machine` }, 404);
  const startedAt = views.now();
  const outcome = await stop(bottle.slug);
  if (outcome.ok) {
    // The end is recorded by the code that ended it; a record older than this press (or
    // none) is replaced with one saying the dashboard stopped it.
    const earlier = (await readEnded(views.home, views.now())).find((r) => r.slug === slug);
    if (earlier === undefined || Date.parse(earlier.endedAt) < startedAt.getTime()) {
      await recordBottleEnd(
        views.home,
        {
          slug: bottle.slug,
          command: "dashboard",
          metadata: bottle.metadata,
        },
        views.now,
      );
    }
  }
  options.log?.(
    `stop ${bottle.slug}: ${outcome.ok ? "done" : `failed (exit ${outcome.exitCode ?? "killed"})`}`,
  );
  if (outcome.ok) return c.json(outcome);
  return c.json(
    {
      ...outcome,
      error: `claude-bottle stop ${bottle.slug} failed (exit ${outcome.exitCode ?? "killed"})`,
    },
    500,
  );
}

/** A human's decision on a proposal, put in force before the agent hears of it. */
async function decisionFromDashboard(
  c: Context,
  views: ViewContext,
  slug: string,
  id: string,
): Promise<Response> {
  let body: { decision?: unknown; reason?: unknown };
  try {
    body = (await c.req.json()) as typeof body;
  } catch {
    return c.json({ error: "the body must be JSON" }, 400);
  }
  if (body.decision !== "approved" && body.decision !== "denied") {
    return c.json({ error: 'decision must be "approved" or "denied"' }, 400);
  }
  const reason = typeof body.reason === "string" ? body.reason.slice(0, 2000) : null;
  try {
    const outcome = await decideFromDashboard(views, {
      slug,
      id,
      decision: body.decision,
      reason,
    });
    return c.json(outcome);
  } catch (error) {
    if (error instanceof BottleError) {
      return c.json({ error: error.message, hint: error.hint ?? null }, 409);
    }
    throw error;
  }
}

/** The decision stream: what a page missed since the last id it saw, then as it comes. */
function decisionStream(c: Context, views: ViewContext, flushEveryMs: number): Response {
  // A page that reconnects says the last id it saw and gets everything after it; a new
  // page gets the latest few hundred, as many as it shows.
  const lastId = Number(c.req.header("last-event-id") ?? Number.NaN);
  const after =
    Number.isInteger(lastId) && lastId >= 0
      ? lastId
      : Math.max(0, views.hub.lastSeq - FIRST_REPLAY);
  return streamSSE(c, async (stream) => {
    let backlog: DecisionEvent[] = [];
    let wake: (() => void) | null = null;
    let done = false;
    const unsubscribe = views.hub.subscribe((event) => {
      backlog.push(event);
      if (backlog.length > MAX_BACKLOG) done = true;
      wake?.();
    });
    stream.onAbort(() => {
      done = true;
      wake?.();
    });
    try {
      const kept = views.hub.since(after);
      if (!kept.complete) {
        await stream.writeSSE({ event: "gap", data: JSON.stringify({ after }) });
      }
      const seen = kept.events.at(-1)?.seq ?? after;
      backlog = [...kept.events, ...backlog.filter((e) => e.seq > seen)];
      while (!done) {
        if (backlog.length === 0) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            // A comment now and then keeps proxies and the browser from timing out.
            setTimeout(resolve, 15_000);
          });
          wake = null;
          if (backlog.length === 0 && !done) await stream.write(": keep-alive\n\n");
          continue;
        }
        const batch = backlog;
        backlog = [];
        const last = batch.at(-1) as DecisionEvent;
        await stream.writeSSE({
          event: "decisions",
          id: String(last.seq),
          data: JSON.stringify(batch),
        });
        // Let a burst gather into one message instead of one write per event.
        if (flushEveryMs > 0) await stream.sleep(flushEveryMs);
      }
    } finally {
      unsubscribe();
    }
  });
}

/** Serves the dashboard on 127.0.0.1 only. */
export async function startDashboardServer(
  options: DashboardServerOptions,
): Promise<RunningDashboard> {
  let bound = options.port;
  const sessions = options.sessions ?? new SessionStore(options.token);
  const app = dashboardApp({ ...options, sessions }, () => bound);
  // The first page will want the bottles: ask the engine now, while the URL is being opened.
  options.views.listing.fresh().catch(() => {});
  const server = serve({ fetch: app.fetch, port: options.port, hostname: "127.0.0.1" });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", () => resolve());
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE") {
        reject(
          new InputError(`--port ${options.port}: 127.0.0.1:${options.port} is already in use`, {
            hint: "choose another port, or --port 0 for any free one; if it is this home's dashboard, `claude-bottle dashboard --login` prints a new sign-in link for it",
          }),
        );
      } else if (error.code === "EACCES") {
        reject(
          new InputError(`--port ${options.port}: not allowed to listen on it`, {
            hint: "ports below 1024 need privileges: choose one above 1024, or --port 0",
          }),
        );
      } else reject(error);
    });
  });
  bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/#token=${options.token}`,
    addToken: (token, expiresAt) => sessions.addToken(token, expiresAt),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ("closeAllConnections" in server) server.closeAllConnections();
      }),
  };
}
