// The first load of the dashboard's page in Debian's chromium, against a floor: the same page,
// drawn once by the dashboard and saved, as a plain static file from node:http. Each load is
// in a fresh browser context (empty cache; the dashboard's holds the session cookie) and is
// timed by the page's own clock, from the start of the navigation to the frame in which every
// bottle's card is in the document. The two alternate, run by run, with a third: the very first
// load, from the URL a new dashboard printed (the token in its fragment, no cookie yet).
//
// The bottles are realistic without the engine: a home with four bottles' state directories
// (metadata, pipelock policy, egress routes, supervise queue) and their manifests (claude,
// codex, gemini), and a docker client that answers `ps` and `network ls` for them. With
// `engine`, each of its calls also runs the real docker command and waits for it, so the page
// pays what asking the engine costs; its output is set aside.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { DockerCli } from "../../dist/backend/engine/docker-client.js";
import { startDashboardServer } from "../../dist/dashboard/dashboard-server.js";
import { DecisionHub } from "../../dist/dashboard/decision-hub.js";

const BOTTLES = [
  { slug: "api-work-3f9a", bottle: "api-work", provider: "claude", model: "api.anthropic.com" },
  { slug: "docs-site-81c2", bottle: "docs-site", provider: "codex", model: "api.openai.com" },
  {
    slug: "data-jobs-5e07",
    bottle: "data-jobs",
    provider: "gemini",
    model: "generativelanguage.googleapis.com",
  },
  { slug: "infra-b41d", bottle: "infra", provider: "claude", model: "api.anthropic.com" },
];
const SERVICES = ["agent", "egress", "git-gate", "pipelock", "supervise"];
const ALLOW = [
  "registry.example.test",
  "pypi.example.test",
  "files.pypi.example.test",
  "github.com",
  "codeload.github.com",
  "objects.githubusercontent.com",
  "docs.python.org",
  "developer.mozilla.org",
];

/** A home with the bottles' state and manifests; returns its path. */
async function realisticHome() {
  const home = await mkdtemp(join(tmpdir(), "cb-bench-dashboard-"));
  await mkdir(join(home, "bottles"));
  const createdAt = new Date(Date.now() - 47 * 60_000).toISOString();
  for (const b of BOTTLES) {
    const state = join(home, "state", b.slug);
    await mkdir(join(state, "pipelock"), { recursive: true });
    await mkdir(join(state, "egress"), { recursive: true });
    await mkdir(join(state, "supervise", "queue"), { recursive: true });
    await writeFile(
      join(home, "bottles", `${b.bottle}.md`),
      `---\nagent: ${b.provider}\nsupervise: true\n---\nThe ${b.bottle} bottle.\n`,
    );
    await writeFile(
      join(state, "bottle.json"),
      JSON.stringify({
        slug: b.slug,
        project: `claude-bottle-${b.slug}`,
        agent: b.bottle,
        bottle: b.bottle,
        createdAt,
        pid: process.pid,
        hostname: hostname(),
        phase: "running",
      }),
    );
    await writeFile(
      join(state, "pipelock", "pipelock.yaml"),
      `allow:\n${[...ALLOW, b.model].map((h) => `  - ${h}\n`).join("")}dlp:\n  action: block\n`,
    );
    await writeFile(
      join(state, "egress", "routes.yaml"),
      `routes:\n  - host: ${b.model}\n    paths: ["/v1/"]\n    methods: all\n    auth: { scheme: x-api-key, tokenEnv: EGRESS_TOKEN_0 }\n  - host: api.github.com\n    paths: ["/"]\n    methods: [GET]\n    auth: { scheme: Bearer, tokenEnv: EGRESS_TOKEN_1 }\n`,
    );
  }
  return home;
}

function psLines(home) {
  return BOTTLES.flatMap((b) =>
    SERVICES.map((service) =>
      JSON.stringify({
        name: `claude-bottle-${service}-${b.slug}`,
        state: "running",
        status: service === "agent" ? "Up 47 minutes" : "Up 47 minutes (healthy)",
        slug: b.slug,
        service,
        home,
      }),
    ),
  ).join("\n");
}

function netLines() {
  return BOTTLES.flatMap((b) =>
    ["internal", "egress"].map((n) =>
      JSON.stringify({ name: `claude-bottle-${b.slug}-${n}`, slug: b.slug }),
    ),
  ).join("\n");
}

/** Answers for the bench's bottles; with `engine`, after the same call to the real engine. */
function benchDocker(home, engine) {
  const real = new DockerCli();
  return {
    async run(args, options) {
      if (engine) await real.run(args, { ...options, allowFailure: true });
      const stdout = args[0] === "ps" ? psLines(home) : args[0] === "network" ? netLines() : "";
      return { exitCode: 0, stdout, stderr: "" };
    },
  };
}

function hubWithTraffic() {
  const hub = new DecisionHub();
  for (const b of BOTTLES) {
    for (let i = 0; i < 40; i++) {
      hub.publish({
        slug: b.slug,
        source: "egress",
        at: new Date().toISOString(),
        kind: "allow",
        verdict: "intercept",
        method: "POST",
        host: b.model,
        port: null,
        path: null,
        rule: "route",
        place: null,
        status: 200,
        routed: true,
        requestBytes: 48_000 + i * 911,
        responseBytes: 3_100 + i * 77,
      });
    }
  }
  return hub;
}

const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
};

/**
 * Loads `url` in a fresh context and returns ms from navigation start to the frame that shows
 * every card. The page notes that frame itself: an observer set before any of its own scripts
 * sees the cards arrive (from the parser or a script) and takes the time of the next animation
 * frame, so the time does not include how soon the driver gets to look.
 */
async function timedLoad(browser, url, cookies) {
  const context = await browser.newContext();
  if (cookies.length > 0) await context.addCookies(cookies);
  await context.addInitScript((n) => {
    const seen = () => {
      if (window.cbDrawnAt !== undefined) return;
      if (document.querySelectorAll("[data-testid=bottle]").length < n) return;
      window.cbDrawnAt = null;
      requestAnimationFrame(() => {
        window.cbDrawnAt = performance.now();
      });
    };
    new MutationObserver(seen).observe(document, { childList: true, subtree: true });
  }, BOTTLES.length);
  const page = await context.newPage();
  await page.goto(url, { waitUntil: "commit" });
  const drawn = await page.waitForFunction(() => window.cbDrawnAt || false, undefined, {
    polling: 20,
    timeout: 30_000,
  });
  const shown = await drawn.jsonValue();
  // The paint entry is filed once the frame is presented, a moment after the drawing.
  await page.waitForFunction(
    () => performance.getEntriesByName("first-contentful-paint").length > 0,
    undefined,
    { polling: 20, timeout: 5_000 },
  );
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    const fcp = performance.getEntriesByName("first-contentful-paint")[0];
    return { responseEnd: n.responseEnd, dcl: n.domContentLoadedEventEnd, fcp: fcp.startTime };
  });
  await context.close();
  return { shown, ...nav };
}

/**
 * The very first load: a new dashboard, its printed URL (the token in the fragment) opened in
 * a browser without a cookie, half a second after the URL was printed, about as soon as a
 * person can click it.
 */
async function printedUrlLoad(browser, home, hub, engine) {
  const server = await startDashboardServer({
    views: { docker: benchDocker(home, engine), home, now: () => new Date(), actor: "bench", hub },
    token: randomBytes(24).toString("hex"),
    port: 0,
  });
  try {
    await new Promise((r) => setTimeout(r, 500));
    return await timedLoad(browser, server.url, []);
  } finally {
    await server.close();
  }
}

/**
 * Measures `runs` first loads of each; returns the rows to print. `browser` is a launched
 * chromium; `engine` makes the docker stand-in call the real engine too.
 */
export async function measureFirstLoad(browser, { runs = 15, engine = true } = {}) {
  const home = await realisticHome();
  const hub = hubWithTraffic();
  const token = "cd".repeat(24);
  const server = await startDashboardServer({
    views: {
      docker: benchDocker(home, engine),
      home,
      now: () => new Date(),
      actor: "bench",
      hub,
    },
    token,
    port: 0,
  });
  const origin = `http://127.0.0.1:${server.port}`;
  let floor;
  try {
    // Sign in once, for the cookie; then save the page as drawn, scripts out, for the floor.
    const signIn = await browser.newContext();
    const page = await signIn.newPage();
    await page.goto(server.url);
    await page
      .locator("[data-testid=bottle]")
      .nth(BOTTLES.length - 1)
      .waitFor();
    const cookies = await signIn.cookies(origin);
    const drawnHtml = (await page.content()).replace(/<script[^>]*>[\s\S]*?<\/script>/g, "");
    await signIn.close();
    floor = createServer((_req, res) => {
      res.writeHead(200, {
        "content-type": "text/html; charset=utf-8",
        "cache-control": "no-store",
      });
      res.end(drawnHtml);
    });
    await new Promise((resolve) => floor.listen(0, "127.0.0.1", resolve));
    const floorUrl = `http://127.0.0.1:${floor.address().port}/`;

    // What the server spends on each request, asked from Node (no browser).
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
    const serverMs = {};
    for (const path of ["/", "/app.js", "/api/bottles", "/api/bottles/cards", "/api/proposals"]) {
      const times = [];
      let bytes = 0;
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        const res = await fetch(`${origin}${path}`, { headers: { cookie } });
        bytes = (await res.arrayBuffer()).byteLength;
        times.push(performance.now() - t0);
      }
      serverMs[path] = { median: percentile(times, 50), p95: percentile(times, 95), bytes };
    }

    // One warm-up each, then alternate.
    await timedLoad(browser, `${origin}/`, cookies);
    await timedLoad(browser, floorUrl, []);
    const dash = [];
    const flat = [];
    const printed = [];
    for (let i = 0; i < runs; i++) {
      dash.push(await timedLoad(browser, `${origin}/`, cookies));
      flat.push(await timedLoad(browser, floorUrl, []));
      printed.push(await printedUrlLoad(browser, home, hub, engine));
    }
    return { dash, flat, printed, serverMs, runs, engine };
  } finally {
    await server.close();
    floor?.close();
    await rm(home, { recursive: true, force: true });
  }
}

export function printFirstLoad({ dash, flat, printed, serverMs, runs, engine }) {
  const f = (x) => x.toFixed(0);
  const row = (name, pick) => {
    const d = dash.map(pick);
    const s = flat.map(pick);
    return `| ${name} | ${f(percentile(d, 50))} | ${f(percentile(d, 95))} | ${f(percentile(s, 50))} | ${f(percentile(s, 95))} | ${(percentile(d, 50) / percentile(s, 50)).toFixed(2)}× |`;
  };
  console.log(
    `| first page load, cold, ${runs} runs each, ${BOTTLES.length} bottles${engine ? "" : " (no engine calls)"} | dashboard median (ms) | dashboard p95 (ms) | static file median (ms) | static file p95 (ms) | ratio of medians |`,
  );
  console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(row("navigation start to bottles drawn", (l) => l.shown));
  console.log(row("navigation start to the first contentful paint", (l) => l.fcp));
  console.log(row("navigation start to DOMContentLoaded", (l) => l.dcl));
  console.log(row("navigation start to the page's last byte", (l) => l.responseEnd));
  const p = printed.map((l) => l.shown);
  console.log(
    `| the printed URL (token, no cookie yet, a new dashboard): navigation start to bottles drawn | ${f(percentile(p, 50))} | ${f(percentile(p, 95))} | | | ${(
      percentile(p, 50) /
        percentile(
          flat.map((l) => l.shown),
          50,
        )
    ).toFixed(2)}× |`,
  );
  console.log("");
  console.log("| served by the dashboard, asked from Node | median (ms) | p95 (ms) | bytes |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [path, t] of Object.entries(serverMs)) {
    console.log(`| GET ${path} | ${t.median.toFixed(1)} | ${t.p95.toFixed(1)} | ${t.bytes} |`);
  }
}
