// The dashboard's HTTP surface, in process (app.fetch, no socket), over a home with one
// supervised bottle whose agent filed a proposal; the docker seam records the reload signal.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { rawControlsIn } from "../../test/support/fixtures/hostile-text.js";
import {
  composeOn,
  makeSupervisedBottle,
  RecordingDocker,
} from "../../test/support/sidecars/supervise-fixture.js";
import { tempDirPerTest } from "../../test/support/unit/temp-dir.js";
import { verifyAuditLog } from "../approval/audit-log.js";
import type { SupervisedBottle } from "../approval/supervised-bottle.js";
import { discoverBottles } from "../backend/engine/discover-bottles.js";
import type { DockerClient } from "../backend/engine/docker-client.js";
import { ProposalQueue } from "../sidecars/supervise/proposal-queue.js";
import { BottleListing } from "./bottle-listing.js";
import { dashboardApp } from "./dashboard-server.js";
import type { ViewContext } from "./dashboard-views.js";
import { DecisionHub } from "./decision-hub.js";
import { readEnded } from "./ended-bottles.js";

const PORT = 8377;
const ORIGIN = `http://127.0.0.1:${PORT}`;
const TOKEN = "ab".repeat(24);
const home = tempDirPerTest("cb-dashboard-");
let bottle: SupervisedBottle;
let app: ReturnType<typeof dashboardApp>;
let hub: DecisionHub;
let docker: RecordingDocker;

beforeEach(async () => {
  bottle = await makeSupervisedBottle(home());
  await new ProposalQueue({
    queueDir: bottle.queueDir,
    slug: bottle.slug,
    now: () => new Date("2030-01-01T12:00:00.000Z"),
    newId: () => "host0001",
  }).submit({ kind: "egress-host", host: "docs.example.test", port: null }, "read the docs");
  hub = new DecisionHub();
  docker = new RecordingDocker();
  app = appOver(docker);
});

/** The dashboard over the test home, asking `engine` for its listings. */
function appOver(engine: DockerClient, more: Partial<ViewContext> = {}) {
  return dashboardApp(
    {
      views: {
        listing: new BottleListing(() => discoverBottles(engine, home())),
        backendOf: composeOn(engine),
        home: home(),
        now: () => new Date("2030-01-01T12:05:00.000Z"),
        actor: "dashboard (alice@laptop)",
        hub,
        ...more,
      },
      token: TOKEN,
      port: PORT,
    },
    () => PORT,
  );
}

function call(
  path: string,
  init: RequestInit & { headers?: Record<string, string> } = {},
  to: ReturnType<typeof dashboardApp> = app,
) {
  return to.fetch(
    new Request(`http://127.0.0.1:${PORT}${path}`, {
      ...init,
      headers: { host: `127.0.0.1:${PORT}`, ...init.headers },
    }),
  );
}

/** Signs in to `to` with the dashboard token: the session cookie and its CSRF token. */
async function signIn(to = app): Promise<{ cookie: string; csrf: string }> {
  const res = await call(
    "/api/session",
    { method: "POST", headers: { origin: ORIGIN, "x-dashboard-token": TOKEN } },
    to,
  );
  expect(res.status).toBe(200);
  const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
  return { cookie, csrf: ((await res.json()) as { csrf: string }).csrf };
}

describe("the dashboard server", () => {
  it("stops a listed bottle through `stop`, with the CSRF header only; never an unlisted one", async () => {
    const stopped: string[] = [];
    const stopping = appOver(docker, {
      stopBottle: async (slug) => {
        stopped.push(slug);
        return { ok: true, exitCode: 0, output: `stopped ${slug}` };
      },
    });
    const { cookie, csrf } = await signIn(stopping);
    const stop = (slug: string, headers: Record<string, string>) =>
      call(
        `/api/bottles/${slug}/stop`,
        { method: "POST", headers: { origin: ORIGIN, cookie, ...headers } },
        stopping,
      );
    expect((await stop(bottle.slug, {})).status).toBe(403);
    const unknown = await stop("nope-0000", { "x-csrf-token": csrf });
    expect(unknown.status).toBe(404);
    expect(stopped).toEqual([]);
    const done = await stop(bottle.slug, { "x-csrf-token": csrf });
    expect(done.status).toBe(200);
    expect(await done.json()).toEqual({ ok: true, exitCode: 0, output: `stopped ${bottle.slug}` });
    expect(stopped).toEqual([bottle.slug]);
    const ended = await readEnded(home(), new Date("2030-01-01T12:05:00.000Z"));
    expect(ended.map((e) => [e.slug, e.how, e.by])).toEqual([
      [bottle.slug, "stopped", "dashboard"],
    ]);
  });

  it("says so when `stop` fails, with its output", async () => {
    const failing = appOver(docker, {
      stopBottle: async () => ({ ok: false, exitCode: 1, output: "left: network x" }),
    });
    const { cookie, csrf } = await signIn(failing);
    const out = await call(
      `/api/bottles/${bottle.slug}/stop`,
      {
        method: "POST",
        headers: { origin: ORIGIN, cookie, "x-csrf-token": csrf },
      },
      failing,
    );
    expect(out.status).toBe(500);
    expect(await out.json()).toMatchObject({
      error: `claude-bottle stop ${bottle.slug} failed (exit 1)`,
      output: "left: network x",
    });
  });

  it("serves the page with a strict CSP and no external asset", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(res.headers.get("content-security-policy")).not.toContain("unsafe");
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    // The one style element is the one the policy's hash names.
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1] ?? "");
    expect(styles).toHaveLength(1);
    const hash = createHash("sha256")
      .update(styles[0] ?? "")
      .digest("base64");
    expect(res.headers.get("content-security-policy")).toContain(`style-src 'sha256-${hash}'`);
    expect(html).not.toMatch(/<script>|\sstyle=|\son[a-z]+=/i);
  });

  it("draws the bottles into a signed-in page, and into no one else's", async () => {
    const cards = (page: string) => page.match(/data-testid="bottle"[^>]*/g) ?? [];
    expect(cards(await (await call("/")).text())).toEqual([]);
    const bogus = await call("/", { headers: { cookie: "cb_dashboard=not-a-session" } });
    expect(cards(await bogus.text())).toEqual([]);
    const res = await call("/api/session", {
      method: "POST",
      headers: { origin: ORIGIN, "x-dashboard-token": TOKEN },
    });
    // The token's answer brings the cards too: the first page draws them without asking again.
    const session = (await res.json()) as { cards: string };
    expect(cards(session.cards)).toEqual(['data-testid="bottle" data-slug="demo-7f3a"']);
    const cookie = (res.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await (await call("/", { headers: { cookie } })).text();
    expect(cards(page)).toEqual(['data-testid="bottle" data-slug="demo-7f3a"']);
    expect(page).not.toMatch(/<script>|\sstyle=|\son[a-z]+=/i);
    const fragment = await call("/api/bottles/cards", { headers: { cookie } });
    expect(fragment.headers.get("content-type")).toContain("text/html");
    expect(cards(await fragment.text())).toEqual(['data-testid="bottle" data-slug="demo-7f3a"']);
  });

  it("sends the page without the bottles when the engine does not answer", async () => {
    const stuck = appOver({ run: () => new Promise(() => {}) });
    const ask = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
      call(path, init, stuck);
    const session = await ask("/api/session", {
      method: "POST",
      headers: { origin: ORIGIN, "x-dashboard-token": TOKEN },
    });
    expect(((await session.json()) as { cards: string | null }).cards).toBeNull();
    const cookie = (session.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    const page = await (await ask("/", { headers: { cookie } })).text();
    expect(page).toContain("loading…");
    expect(page).not.toContain('data-testid="bottle"');
  });

  it("asks the engine once for a page, its poll and its API call close together", async () => {
    const { cookie } = await signIn();
    const before = docker.calls.length;
    await call("/", { headers: { cookie } });
    await call("/api/bottles/cards", { headers: { cookie } });
    await call("/api/bottles", { headers: { cookie } });
    expect(docker.calls.length - before).toBeLessThanOrEqual(2);
  });

  it("refuses every API call without the session, the stream included", async () => {
    for (const path of ["/api/bottles", "/api/proposals", "/api/audit", "/api/events"]) {
      expect((await call(path)).status).toBe(401);
    }
  });

  it("exchanges the token once", async () => {
    await signIn();
    const again = await call("/api/session", {
      method: "POST",
      headers: { origin: ORIGIN, "x-dashboard-token": TOKEN },
    });
    expect(again.status).toBe(401);
    expect(again.headers.get("set-cookie")).toBeNull();
  });

  it("refuses a session's request from another origin or through another Host", async () => {
    const { cookie } = await signIn();
    const other = await call("/api/events", {
      headers: { cookie, origin: "http://127.0.0.1:9999", "sec-fetch-site": "same-site" },
    });
    expect(other.status).toBe(403);
    const rebound = await app.fetch(
      new Request(`http://evil.test:${PORT}/api/bottles`, {
        headers: { host: `evil.test:${PORT}`, cookie },
      }),
    );
    expect(rebound.status).toBe(403);
  });

  it("lists the proposal with what approving would change, then approves it as the dashboard", async () => {
    const { cookie, csrf } = await signIn();
    const listed = (await (await call("/api/proposals", { headers: { cookie } })).json()) as {
      proposals: Array<{ id: string; status: string; wouldChange: string }>;
    };
    expect(listed.proposals).toMatchObject([
      {
        id: "host0001",
        status: "pending",
        wouldChange: "add docs.example.test to pipelock's allowlist and reload it",
      },
    ]);
    const decide = (headers: Record<string, string>) =>
      call("/api/proposals/demo-7f3a/host0001/decision", {
        method: "POST",
        headers: { cookie, origin: ORIGIN, "content-type": "application/json", ...headers },
        body: JSON.stringify({ decision: "approved", reason: "docs only" }),
      });
    expect((await decide({})).status).toBe(403);
    expect((await decide({ "x-csrf-token": "0".repeat(64) })).status).toBe(403);
    const approved = await decide({ "x-csrf-token": csrf });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({
      decision: "approved",
      changes: ["added docs.example.test to pipelock's allowlist"],
    });
    expect(await readFile(bottle.pipelockConfig, "utf8")).toContain("docs.example.test");
    const answer = JSON.parse(
      await readFile(join(bottle.queueDir, "answers", "host0001.json"), "utf8"),
    );
    expect(answer.by).toBe("dashboard (alice@laptop)");
    const audit = (await (await call("/api/audit", { headers: { cookie } })).json()) as Array<{
      slug: string;
      verification: { ok: boolean; entries: number };
      entries: Array<{ event: string; by: string | null }>;
    }>;
    expect(audit).toMatchObject([{ slug: "demo-7f3a", verification: { ok: true, entries: 2 } }]);
    expect(audit[0]?.entries.map((e) => [e.event, e.by])).toEqual([
      ["proposed", null],
      ["decided", "dashboard (alice@laptop)"],
    ]);
    expect(await verifyAuditLog(bottle.auditLog)).toMatchObject({ ok: true });
    // Decided once: a second approval is refused and says by whom.
    const twice = await decide({ "x-csrf-token": csrf });
    expect(twice.status).toBe(409);
    expect(((await twice.json()) as { error: string }).error).toContain(
      "already approved by dashboard (alice@laptop)",
    );
  });

  it("refuses a decision for a slug or id that is not a queued proposal", async () => {
    const { cookie, csrf } = await signIn();
    for (const path of [
      "/api/proposals/..%2F..%2Fetc/host0001/decision",
      "/api/proposals/demo-7f3a/..%2Fx/decision",
      "/api/proposals/other-0000/host0001/decision",
    ]) {
      const res = await call(path, {
        method: "POST",
        headers: {
          cookie,
          origin: ORIGIN,
          "x-csrf-token": csrf,
          "content-type": "application/json",
        },
        body: JSON.stringify({ decision: "approved" }),
      });
      expect(res.status).toBe(409);
    }
  });

  it("streams decisions, resuming after the last id the page saw", async () => {
    const { cookie } = await signIn();
    const base = {
      slug: "demo-7f3a",
      source: "pipelock" as const,
      at: "2030-01-01T12:00:00.000Z",
      kind: "refuse" as const,
      verdict: "denied",
      method: "CONNECT",
      host: "evil.test",
      port: 443,
      path: null,
      rule: "not-allowlisted",
      place: null,
      status: 403,
      routed: false,
      requestBytes: null,
      responseBytes: null,
    };
    hub.publish(base);
    hub.publish({ ...base, host: "second.test" });
    const res = await call("/api/events", { headers: { cookie, "last-event-id": "1" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain("event: decisions");
    expect(first).toContain("id: 2");
    expect(first).toContain('"host":"second.test"');
    expect(first).not.toContain("evil.test");
    await reader.cancel();
  });
});

describe("the dashboard server's own errors", () => {
  it("logs an internal error's message escaped: it may quote what a bottle wrote", async () => {
    const hostile = "engine said \x1b]0;pwned\x07\u202e";
    const failing: DockerClient = {
      run: async () => {
        throw new Error(hostile);
      },
    };
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      const broken = appOver(failing);
      const { cookie } = await signIn(broken);
      const listed = await call("/api/bottles", { headers: { cookie } }, broken);
      expect(listed.status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    expect(written.join("")).toContain("dashboard: engine said \\x1b]0;pwned\\x07\\u202e\n");
    expect(rawControlsIn(written.join(""), { newline: true })).toEqual([]);
  });
});
