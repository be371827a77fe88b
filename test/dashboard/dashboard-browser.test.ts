// The dashboard in a real browser (Debian's chromium, driven by playwright-core) over a real
// bottle: the page lists it with its provider; the requests and bytes through its route are
// the ones a stand-in model API counted, and a dashboard started again shows the same; a
// request pipelock refuses shows in the decision stream live, without a reload; an agent's request for a host shows in the inbox, is approved in the page, and
// the agent's retry goes through; a page of another origin (on 127.0.0.1 too, so same-site:
// the session cookie would go with its requests) can neither read the stream nor approve;
// without the token, or with a spent one, nothing is shown. For watching many agents: a
// flood of 500 identical refusals is one row with its count; a waiting request counts down
// to its call's timeout; every decision names its place; the audit reads as sentences; each
// card says where the work will land; every view fits an 800 px window without sideways
// scrolling; `dashboard --login` gives a running dashboard a new sign-in link; a busy --port
// is a plain error; the stop button stops the bottle through `stop`, and it shows as ended.
// With CLAUDE_BOTTLE_DASHBOARD_SCREENSHOTS=<dir>, each view is saved there as a PNG.
import { type ChildProcess, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Page,
  type Route,
} from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { BOTTLE_SLUG_LABEL } from "../../src/contracts/agent.js";
import { size } from "../../src/dashboard/bottle-cards.js";
import { makeTestHome, PACKAGE_ROOT, type TestHome } from "../support/cli/cli-process.js";
import {
  copyIntoAgent,
  type FakeUpstream,
  type RunningBottle,
  removeTestContainers,
  startBottle,
  startFakeUpstream,
} from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { waitFor } from "../support/docker/wait-for.js";
import { bundleForNode } from "../support/sidecars/bundle.js";
import { makeUpstreamCa, type UpstreamCa } from "../support/tls/test-ca.js";
import { startDashboard } from "./dashboard-process.js";

/** A stand-in model API behind the bottle's one route; its key only egress holds. */
const MODEL_HOST = "api.model.test";
const MODEL_KEY = "cbtest-dashboard-model-key-5d2e9b";
const BOTTLE = `---
egress:
  allow:
    - allowed.test
  routes:
    - host: ${MODEL_HOST}
      paths: ["/v1/", "/sse"]
      auth: { scheme: x-api-key, token_env: CB_DASHBOARD_MODEL_KEY }
supervise: true
---
A supervised bottle for the dashboard tests.
`;
const AGENT = `---
bottle: watched
---
You are a test agent.
`;
const CHROMIUM = process.env.CLAUDE_BOTTLE_CHROMIUM ?? "/usr/bin/chromium";
const CLIENT_IN_AGENT = "/tmp/cb-ask-host.mjs";
const SHOTS = process.env.CLAUDE_BOTTLE_DASHBOARD_SCREENSHOTS;

async function shoot(page: Page, name: string): Promise<void> {
  if (SHOTS === undefined) return;
  await page.screenshot({ path: join(SHOTS, `dashboard-${name}.png`), fullPage: false });
}

interface ShownTraffic {
  requests: number;
  requestBytes: number;
  responseBytes: number;
  text: string;
}

/** The route's traffic as `page` shows it, once it shows `requests` requests. */
async function shownTraffic(page: Page, slug: string, requests: number): Promise<ShownTraffic> {
  const cell = page.locator(`[data-testid=bottle][data-slug="${slug}"] [data-testid=traffic]`);
  return waitFor(
    `the page to show ${requests} requests through the route`,
    async () => {
      if ((await cell.count()) !== 1) return null;
      const shown = {
        requests: Number(await cell.getAttribute("data-requests")),
        requestBytes: Number(await cell.getAttribute("data-request-bytes")),
        responseBytes: Number(await cell.getAttribute("data-response-bytes")),
        text: (await cell.textContent()) ?? "",
      };
      return shown.requests >= requests ? shown : null;
    },
    30_000,
    250,
  );
}

describeWithEngine("the dashboard in a browser, over a real bottle", () => {
  let t: TestHome;
  let work: string;
  let upstreamCa: UpstreamCa;
  let upstream: FakeUpstream;
  let bottle: RunningBottle;
  let dashboard: ChildProcess & { output: () => { stdout: string; stderr: string } };
  let url: string;
  let origin: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let upstreamRemoved = false;
  let stoppedByPage = false;

  /** Runs the bundled MCP client in the agent, in the background; its answer lands in a file. */
  function askForHost(host: string): string {
    const out = `/tmp/ask-${host}.out`;
    execFileSync("docker", [
      "exec",
      "-d",
      "-u",
      "agent",
      bottle.agentContainer,
      "sh",
      "-c",
      `node ${CLIENT_IN_AGENT} ${host} > ${out} 2>&1`,
    ]);
    return out;
  }

  async function answerOf(out: string): Promise<Record<string, unknown>> {
    return waitFor(
      `the agent's answer in ${out}`,
      async () => {
        const r = await bottle.exec(`cat ${out} 2>/dev/null`);
        const line = /RESULT (.*)/.exec(r.stdout)?.[1];
        return line === undefined ? null : (JSON.parse(line) as Record<string, unknown>);
      },
      120_000,
      250,
    );
  }

  const curlStatus = (host: string) =>
    bottle.exec(
      `curl -sS -m 5 -o /dev/null -w 'status=%{http_code}' https://${host}/ 2>&1 | head -c 200`,
    );

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no chromium at ${CHROMIUM}: run scripts/setup-host.sh --with-browser`);
    }
    t = await makeTestHome();
    await t.writeManifest("bottles", "watched", BOTTLE);
    await t.writeManifest("agents", "watched", AGENT);
    work = await mkdtemp(join(tmpdir(), "cb-dashboard-e2e-"));
    const client = join(work, "ask-host.mjs");
    await bundleForNode(join(PACKAGE_ROOT, "test/dashboard/ask-host-client.ts"), client);
    upstreamCa = await makeUpstreamCa();
    bottle = await startBottle(t, "watched", {
      CB_DASHBOARD_MODEL_KEY: MODEL_KEY,
      CLAUDE_BOTTLE_UPSTREAM_CA: upstreamCa.caFile,
    });
    upstream = await startFakeUpstream(bottle, upstreamCa, [MODEL_HOST]);
    copyIntoAgent(bottle, client, CLIENT_IN_AGENT);
    ({ process: dashboard, url, origin } = await startDashboard(t));
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    dashboard?.kill("SIGTERM");
    // The stand-in first: Compose cannot remove a network a container is still attached to.
    if (!upstreamRemoved) await upstream?.remove();
    if (bottle && !stoppedByPage) removeTestContainers(bottle);
    if (!stoppedByPage) await bottle?.stop();
    await upstreamCa?.dispose();
    await t?.run(["cleanup", "--yes", "--all"]);
    await t?.dispose();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("lists the bottle with its sidecars and hosts, and drops the token from the address", async () => {
    await page.goto(url);
    const card = page.locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`);
    await card.waitFor({ timeout: 20_000 });
    const text = (await card.textContent()) ?? "";
    expect(text).toContain("agent watched · provider claude · bottle watched");
    expect(text).toContain("allowed.test");
    // The token by the host variable the manifest names; never its value.
    expect(text).toContain("token CB_DASHBOARD_MODEL_KEY");
    expect(text).not.toContain(MODEL_KEY);
    // Started outside a repository: its ~/work will be copied under the home's kept/<slug>/.
    const work = card.locator("[data-testid=work]");
    expect(await work.getAttribute("data-into")).toBe("kept");
    expect(await work.textContent()).toBe(
      `a copy of its ~/work in ${join(t.home, "kept", bottle.slug)}/`,
    );
    for (const service of ["agent", "pipelock", "supervise"]) expect(text).toContain(service);
    expect(page.url()).toBe(`${origin}/`);
    const cookies = await context.cookies(origin);
    expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).toEqual([
      ["cb_dashboard", true, "Strict"],
    ]);
    // The stylesheet in the page is the one its CSP hash allows: the browser applied it.
    const headerColour = await page.evaluate(
      "getComputedStyle(document.querySelector('header')).backgroundColor",
    );
    expect(headerColour).toBe("rgb(29, 35, 48)");
  });

  it("draws the bottles into a page opened again, before its script runs, breaking no CSP rule", async () => {
    const again = await context.newPage();
    const violations: string[] = [];
    again.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    // With scripts off, what is on screen is what the server drew.
    const bare = await browser.newContext({ javaScriptEnabled: false });
    await bare.addCookies(await context.cookies(origin));
    const still = await bare.newPage();
    await still.goto(`${origin}/`);
    expect(await still.locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`).count()).toBe(1);
    await bare.close();
    await again.goto(`${origin}/`);
    await again.locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`).waitFor();
    await again.locator("#status", { hasText: "live" }).waitFor({ timeout: 10_000 });
    expect(violations).toEqual([]);
    await again.close();
  });

  it("draws only the newest listing when an older answer comes late", async () => {
    const late = await context.newPage();
    let asked = 0;
    let held: Route | undefined;
    const answered = new Set<number>();
    await late.route("**/api/bottles/cards", async (route) => {
      const n = ++asked;
      // The second listing's answer is held until a later one has been drawn.
      if (n === 2) {
        held = route;
        return;
      }
      await route.continue();
      answered.add(n);
    });
    await late.goto(`${origin}/`);
    const card = late.locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`);
    await card.waitFor();
    await late.evaluate(
      "window.cbSawLate = false; new MutationObserver(() => { if (document.querySelector('[data-testid=late-listing]')) window.cbSawLate = true; }).observe(document.body, { subtree: true, childList: true })",
    );
    await waitFor("a listing asked for after the held one, answered", async () =>
      answered.has(3) ? true : null,
    );
    await held?.fulfill({
      status: 200,
      contentType: "text/html; charset=utf-8",
      body: '<p data-testid="late-listing">an older listing</p>',
    });
    // The next poll's answer comes after the held one's was read.
    await waitFor("the poll after the late answer", async () => (answered.has(4) ? true : null));
    expect(await late.evaluate("window.cbSawLate")).toBe(false);
    expect(await card.count()).toBe(1);
    await late.close();
  });

  it("shows the requests and bytes through the route that the model API counted, after a restart too", async () => {
    // A streamed upload, a small call and an event stream, all through the route.
    const calls = [
      `yes 'the model reads this line of context' | head -c 150000 > /tmp/upload.txt && curl -sS -m 20 -o /dev/null -w '%{http_code}' -H 'content-type: text/plain' --data-binary @/tmp/upload.txt https://${MODEL_HOST}/v1/messages`,
      `curl -sS -m 20 -o /dev/null -w '%{http_code}' https://${MODEL_HOST}/v1/models`,
      `curl -sS -m 20 -N -o /dev/null -w '%{http_code}' https://${MODEL_HOST}/sse`,
    ];
    for (const call of calls) {
      const r = await bottle.exec(call);
      expect(`${r.stdout}${r.stderr}`).toBe("200");
    }
    const received = (await upstream.requests()).filter((q) => q.host === MODEL_HOST);
    const sent = (await upstream.responses()).filter((q) => q.host === MODEL_HOST);
    expect(received.map((q) => q.url)).toEqual(["/v1/messages", "/v1/models", "/sse"]);
    expect(received.every((q) => q.headers["x-api-key"] === MODEL_KEY)).toBe(true);
    expect(sent).toHaveLength(3);
    const expected = {
      requests: 3,
      requestBytes: received.reduce((n, q) => n + q.bodyLength, 0),
      responseBytes: sent.reduce((n, q) => n + q.bodyLength, 0),
    };
    expect(expected.requestBytes).toBe(150_000);
    const text = `3 requests · ${size(expected.requestBytes)} sent · ${size(expected.responseBytes)} received`;
    const shown = await shownTraffic(page, bottle.slug, 3);
    expect(shown).toEqual({ ...expected, text });
    await shoot(page, "bottles");

    // Another dashboard reads the counts back from egress's log.
    const again = await startDashboard(t);
    const fresh = await browser.newContext();
    try {
      const other = await fresh.newPage();
      await other.goto(again.url);
      expect(await shownTraffic(other, bottle.slug, 3)).toEqual({ ...expected, text });
    } finally {
      await fresh.close();
      again.process.kill("SIGTERM");
    }
  });

  it("shows a refused request in the decision stream, live", async () => {
    await page.locator("nav button[data-view=decisions]").click();
    await page.locator("#status", { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
    const host = `refused-${Date.now()}.test`;
    const curl = await curlStatus(host);
    expect(curl.stdout).toContain("403");
    // Live: pushed by the stream into the page that is open, with no reload (no wall-clock
    // bound, which a loaded machine would break without the dashboard being at fault).
    const row = page.locator("[data-testid=decision][data-kind=refuse]", { hasText: host });
    await row.first().waitFor({ timeout: 30_000 });
    const text = (await row.first().textContent()) ?? "";
    expect(text).toContain(bottle.slug);
    expect(text).toContain("pipelock");
    expect(text).toContain("not-allowlisted");
    // The place column says where it was refused: the tunnel, or the request inside it.
    expect(await row.first().locator("td").nth(7).textContent()).toMatch(/^(tunnel|request)$/);
    // The tunnel's refusal and the request answered inside it: one row, counted twice.
    const shown = await row.count();
    expect(shown).toBe(1);
    // The kind filter hides them; the bottle filter keeps them.
    await page.selectOption("#filter-kind", "allow");
    expect(await row.count()).toBe(0);
    await page.selectOption("#filter-kind", "");
    await page.selectOption("#filter-slug", bottle.slug);
    expect(await row.count()).toBe(shown);
    await shoot(page, "decisions");
  });

  it("approves an agent's request in the page, and the agent's retry goes through", async () => {
    // Refused inside pipelock's own tunnel, with the 403 and why.
    expect((await curlStatus("approved.test")).stdout).toMatch(/status=403$/);
    const out = askForHost("approved.test");
    await page.locator("nav button[data-view=approvals]").click();
    const card = page.locator(`[data-testid=proposal][data-slug="${bottle.slug}"]`, {
      hasText: "approved.test",
    });
    await card.waitFor({ timeout: 30_000 });
    const text = (await card.textContent()) ?? "";
    expect(text).toContain("fetch the docs on approved.test");
    expect(text).toContain("add approved.test to pipelock's allowlist and reload it");
    // The agent's call waits supervise's 600 s from filing: the card counts it down.
    const countdown = card.locator("[data-testid=countdown]");
    const left = async () => Number(await countdown.getAttribute("data-seconds-left"));
    await page.waitForFunction(
      "document.querySelector('[data-testid=countdown]')?.dataset.secondsLeft !== undefined",
    );
    const first = await left();
    expect(first).toBeGreaterThan(480);
    expect(first).toBeLessThanOrEqual(600);
    expect(await countdown.textContent()).toMatch(/^the agent's call times out in (9|10)m \d\ds$/);
    await page.waitForTimeout(2100);
    expect(await left()).toBeLessThan(first);
    await shoot(page, "approvals");
    await card.locator("textarea").fill("docs only");
    await card.locator("[data-testid=approve]").click();
    const answer = await answerOf(out);
    expect(answer).toMatchObject({
      status: "approved",
      reason: "docs only",
      changes: ["added approved.test to pipelock's allowlist"],
    });
    const after = (await curlStatus("approved.test")).stdout;
    expect(after).toMatch(/status=\d{3}$/);
    expect(after).not.toContain("CONNECT tunnel failed");
    expect(after).not.toContain("status=403");
    // The history shows the decision and who took it.
    const row = page.locator("[data-testid=history]", { hasText: "approved.test" });
    await row.waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain("dashboard (");
    // The audit chain records the dashboard as the one who decided, and verifies.
    const log = (await readFile(join(t.home, "audit", `${bottle.slug}.jsonl`), "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event: string; by?: string });
    expect(log.find((e) => e.event === "decided")?.by).toMatch(/^dashboard \(.+@.+\)$/);
    await page.locator("nav button[data-view=audit]").click();
    const verified = page.locator(
      `[data-testid=audit][data-slug="${bottle.slug}"] [data-testid=verification]`,
    );
    await verified.waitFor({ timeout: 10_000 });
    expect(await verified.textContent()).toBe("chain verified (2 entries)");
    // Each entry is a sentence, not the request's JSON.
    const lines = await page
      .locator(`[data-testid=audit][data-slug="${bottle.slug}"] [data-testid=audit-line]`)
      .allTextContents();
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /^the agent asked for egress to approved\.test \(ports 443 and 80\): “fetch the docs on approved\.test” \[/,
    );
    expect(lines[0]).toMatch(
      /^dashboard \(.+@.+\) approved egress to approved\.test \(ports 443 and 80\) — “docs only”; added approved\.test to pipelock's allowlist \[/,
    );
    expect(lines.join("\n")).not.toContain('"kind"');
    await shoot(page, "audit");
  });

  it("refuses a page of another origin: it reads nothing and approves nothing", async () => {
    const out = askForHost("crossorigin.test");
    const pending = await waitFor(
      "the cross-origin proposal",
      async () => {
        const listed = (await page.evaluate(async () => {
          const r = await fetch("/api/proposals");
          return r.json();
        })) as {
          proposals: Array<{
            id: string;
            slug: string;
            status: string;
            request: { host?: string };
          }>;
        };
        return listed.proposals.find((p) => p.request.host === "crossorigin.test") ?? null;
      },
      120_000,
      250,
    );
    const evil = await servePage(evilPage(origin, pending.slug, pending.id));
    try {
      // Same browser, same profile: the session cookie exists and 127.0.0.1 is the same site.
      const attacker = await context.newPage();
      const before = dashboard.output().stderr.length;
      await attacker.goto(evil.url);
      // A string, evaluated in the page: this file has no DOM types.
      const report = await attacker.waitForFunction("window.report", undefined, {
        timeout: 20_000,
      });
      const seen = (await report.jsonValue()) as Record<string, string>;
      expect(seen.read).toMatch(/^refused:/);
      expect(seen.stream).toBe("error, no data");
      expect(seen.approve).toMatch(/^(refused:|opaque)/);
      expect(seen.navigateStatus).toBe("done");
      // The server itself refused each one, not only the browser's CORS check.
      const refused = dashboard.output().stderr.slice(before);
      expect(refused).toContain("dashboard: refused GET /api/proposals (403)");
      expect(refused).toContain("dashboard: refused GET /api/events (403)");
      expect(refused).toContain(
        `dashboard: refused POST /api/proposals/${pending.slug}/${pending.id}/decision (403)`,
      );
      expect(refused).toContain("dashboard: refused GET / (403)");
      await attacker.close();
    } finally {
      await new Promise<void>((resolve) => evil.server.close(() => resolve()));
    }
    const still = (await page.evaluate(async (id) => {
      const r = await fetch("/api/proposals");
      const body = (await r.json()) as { proposals: Array<{ id: string; status: string }> };
      return body.proposals.find((p) => p.id === id)?.status;
    }, pending.id)) as string;
    expect(still).toBe("pending");
    expect((await curlStatus("crossorigin.test")).stdout).toMatch(/status=403$/);
    // Let the waiting agent go: deny it from the dashboard's own page.
    await page.locator("nav button[data-view=approvals]").click();
    const card = page.locator(`[data-testid=proposal][data-id="${pending.id}"]`);
    await card.locator("textarea").fill("not needed");
    await card.locator("[data-testid=deny]").click();
    expect(await answerOf(out)).toMatchObject({ status: "denied", reason: "not needed" });
  });

  it("shows nothing without the token, with a wrong one, or with the spent one", async () => {
    for (const address of [`${origin}/`, `${origin}/#token=${"0".repeat(48)}`, url]) {
      const fresh = await browser.newContext();
      const p = await fresh.newPage();
      await p.goto(address);
      await p.locator("[data-testid=signed-out]").waitFor({ timeout: 10_000 });
      expect(await p.locator("[data-testid=bottle]").count()).toBe(0);
      const api = await fresh.request.get(`${origin}/api/bottles`);
      expect(api.status()).toBe(401);
      expect(await api.text()).not.toContain(bottle.slug);
      await fresh.close();
    }
  });

  it("shows a flood of 500 identical refusals in a minute as one row with its count", async () => {
    await page.locator("nav button[data-view=decisions]").click();
    await page.selectOption("#filter-slug", "");
    await page.selectOption("#filter-kind", "");
    const host = `flood-${Date.now()}.test`;
    const started = Date.now();
    // Plain http: pipelock answers each with its refusal at once, no tunnel to set up.
    const flood = await bottle.exec(
      `seq 500 | xargs -P 16 -I{} curl -s -m 10 -o /dev/null -w '%{http_code}\\n' http://${host}/{} | sort | uniq -c`,
      { timeoutMs: 90_000 },
    );
    expect(flood.stdout.trim(), flood.stderr).toMatch(/^500 \d{3}$/);
    expect(Date.now() - started).toBeLessThan(60_000);
    const logged = (await bottle.pipelockAudit()).filter((e) => e.host === host);
    expect(logged.length).toBeGreaterThanOrEqual(500);
    const rows = page.locator("[data-testid=decision]", { hasText: host });
    await waitFor(
      "the flood's row to count every refusal pipelock logged",
      async () =>
        (await rows.count()) === 1 &&
        Number(await rows.first().getAttribute("data-count")) === logged.length
          ? true
          : null,
      30_000,
      250,
    );
    expect(await rows.count()).toBe(1);
    expect(await rows.first().locator("[data-testid=seen]").textContent()).toMatch(
      new RegExp(`^${logged.length}\u00d7, last \\d\\d:\\d\\d:\\d\\d$`),
    );
    await shoot(page, "flood");
  });

  it("fits every view in an 800 px window, with no sideways scrolling", async () => {
    const narrow = await browser.newContext({ viewport: { width: 800, height: 900 } });
    try {
      await narrow.addCookies(await context.cookies(origin));
      const p = await narrow.newPage();
      await p.goto(`${origin}/`);
      await p.locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`).waitFor();
      await p.locator("#status", { hasText: /^live$/ }).waitFor({ timeout: 10_000 });
      for (const view of ["bottles", "decisions", "approvals", "audit"]) {
        await p.locator(`nav button[data-view=${view}]`).click();
        if (view === "decisions") await p.locator("[data-testid=decision]").first().waitFor();
        if (view === "audit") await p.locator("[data-testid=audit-line]").first().waitFor();
        const widths = (await p.evaluate(
          "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
        )) as [number, number];
        expect(widths[1]).toBe(800);
        expect(widths[0], `the ${view} view scrolls sideways`).toBeLessThanOrEqual(widths[1]);
        if (view === "bottles" || view === "decisions") await shoot(p, `${view}-800`);
      }
    } finally {
      await narrow.close();
    }
  });

  it("gives the running dashboard a new sign-in link with --login, and says a busy port plainly", async () => {
    const login = await t.runOk(["dashboard", "--login"]);
    const link = login.stdout.trim();
    expect(link).toMatch(new RegExp(`^${origin.replace(/\./g, "\\.")}/#token=[0-9a-f]{48}$`));
    expect(link).not.toBe(url);
    for (let use = 0; use < 2; use++) {
      const other = await browser.newContext();
      try {
        const p = await other.newPage();
        await p.goto(link);
        if (use === 0) {
          await p
            .locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`)
            .waitFor({ timeout: 20_000 });
        } else {
          // Spent: the same link signs no one else in.
          await p.locator("[data-testid=signed-out]").waitFor({ timeout: 10_000 });
        }
      } finally {
        await other.close();
      }
    }
    const port = new URL(origin).port;
    const busy = await t.run(["dashboard", "--port", port]);
    expect(busy.code).toBe(2);
    expect(busy.stderr).toContain(`--port ${port}: 127.0.0.1:${port} is already in use`);
    expect(busy.stderr).toContain("claude-bottle dashboard --login");
    expect(busy.stderr).not.toMatch(/internal error|this is a bug/);
  });

  it("stops the bottle with its button, through `stop`, and lists it as ended", async () => {
    // Compose cannot remove a network a container the test added is still attached to.
    await upstream.remove();
    upstreamRemoved = true;
    removeTestContainers(bottle);
    await page.locator("nav button[data-view=bottles]").click();
    const button = page.locator(`[data-testid=stop][data-slug="${bottle.slug}"]`);
    await button.click();
    expect(await button.textContent()).toBe(`Press again to stop ${bottle.slug}`);
    await button.click();
    stoppedByPage = true;
    const notice = page.locator("[data-testid=notice]");
    await notice.filter({ hasText: /^(stopped|could not stop)/ }).waitFor({ timeout: 180_000 });
    expect(await notice.textContent()).toMatch(new RegExp(`^stopped ${bottle.slug}`));
    // Gone from the engine: nothing carries its label.
    const left = execFileSync("docker", [
      "ps",
      "-a",
      "--filter",
      `label=${BOTTLE_SLUG_LABEL}=${bottle.slug}`,
      "--format",
      "{{.Names}}",
    ]).toString();
    expect(left.trim()).toBe("");
    const ended = page.locator(`[data-testid=ended][data-slug="${bottle.slug}"]`);
    await ended.waitFor({ timeout: 15_000 });
    expect(await ended.getAttribute("data-how")).toBe("stopped");
    // A poll's listing asked for while the stop ran may be drawn after the stop's own
    // refresh: the card goes with the next listing.
    await page
      .locator(`[data-testid=bottle][data-slug="${bottle.slug}"]`)
      .waitFor({ state: "detached", timeout: 15_000 });
    await shoot(page, "ended");
  });
});

/** The attacker's page: tries to read, to follow the stream and to approve. */
function evilPage(target: string, slug: string, id: string): string {
  return `<!doctype html><html><body><script>
const report = {};
const done = () => { if (["read", "stream", "approve", "navigateStatus"].every((k) => k in report)) window.report = report; };
fetch(${JSON.stringify(`${target}/api/proposals`)}, { credentials: "include" })
  .then((r) => r.text()).then((t) => { report.read = "read: " + t; done(); })
  .catch((e) => { report.read = "refused: " + e.message; done(); });
const es = new EventSource(${JSON.stringify(`${target}/api/events`)}, { withCredentials: true });
let got = false;
es.onmessage = () => { got = true; };
es.addEventListener("decisions", () => { got = true; });
es.onerror = () => { es.close(); report.stream = got ? "error after data" : "error, no data"; done(); };
fetch(${JSON.stringify(`${target}/api/proposals/${slug}/${id}/decision`)}, {
  method: "POST", mode: "no-cors", credentials: "include",
  headers: { "Content-Type": "text/plain" },
  body: JSON.stringify({ decision: "approved", reason: "from elsewhere" }),
}).then((r) => { report.approve = r.type === "opaque" ? "opaque" : "answered " + r.status; done(); })
  .catch((e) => { report.approve = "refused: " + e.message; done(); });
const frame = document.createElement("iframe");
frame.src = ${JSON.stringify(`${target}/`)};
frame.onload = () => { report.navigateStatus = "done"; done(); };
document.body.append(frame);
</script></body></html>`;
}

async function servePage(html: string): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}
