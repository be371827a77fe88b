// The dashboard under load, from what it reads to what the page shows. Several emitter
// processes stand in for the bottles' `docker logs --follow` streams (one per bottle, each
// its own process as docker logs is) and write pipelock audit lines at a fixed total rate;
// the built dashboard (dist/) follows them, numbers and streams them; a raw SSE client and
// the real page in Debian's chromium count what arrives and check that no number is missing.
// Then the first load of the page, cold, against a static file (first-load.mjs).
//
//   npm run build && node bench/dashboard/bench-dashboard.mjs [rate/s] [seconds] [bottles]
//     --first-load-only   skip the stream
//     --runs N            first loads of each page (15)
//     --no-engine         the bottles' docker stand-in does not call the real engine
import { spawn } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { chromium } from "playwright-core";
import { startDashboardServer } from "../../dist/dashboard/dashboard-server.js";
import { DecisionHub } from "../../dist/dashboard/decision-hub.js";
import { LogFollower } from "../../dist/dashboard/log-follower.js";
import { measureFirstLoad, printFirstLoad } from "./first-load.mjs";

const flags = process.argv.slice(2);
const flagValue = (name, fallback) => {
  const at = flags.indexOf(name);
  return at === -1 ? fallback : Number(flags[at + 1]);
};
const positional = flags.filter(
  (a, i) => !a.startsWith("--") && !(i > 0 && flags[i - 1] === "--runs"),
);
const RATE = Number(positional[0] ?? 1000);
const SECONDS = Number(positional[1] ?? 10);
const BOTTLES = Number(positional[2] ?? 4);
const RUNS = flagValue("--runs", 15);
const CHROMIUM = process.env.CLAUDE_BOTTLE_CHROMIUM ?? "/usr/bin/chromium";

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const header = () =>
  `${new Date().toISOString()}, ${cpus().length} cores, Node ${process.version}, chromium ${browser.version()}, load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}\n`;
if (flags.includes("--first-load-only")) {
  const measured = await measureFirstLoad(browser, {
    runs: RUNS,
    engine: !flags.includes("--no-engine"),
  });
  const head = header();
  await browser.close();
  console.log(head);
  printFirstLoad(measured);
  process.exit(0);
}

// One emitter: `perBottle` lines a second in 10 ms ticks, for `seconds`, then exits.
const EMITTER = `
const [perSecond, seconds, slug] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
const total = perSecond * seconds;
let sent = 0;
const start = Date.now();
const tick = () => {
  const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * perSecond));
  let out = "";
  for (; sent < due; sent++) {
    out += JSON.stringify({ ts: new Date().toISOString(), client: "10.0.0.2:4000", method: "CONNECT",
      host: "n" + sent + ".refused.test", port: 443, path: null,
      decision: sent % 10 === 0 ? "dlp_block" : "denied", rule: sent % 10 === 0 ? "aws-access-key" : "not-allowlisted",
      location: sent % 10 === 0 ? "body" : null, status: 403 }) + "\\n";
  }
  if (out) process.stdout.write(out);
  if (sent < total) setTimeout(tick, 10);
};
setTimeout(tick, 2000);
`;

const emitters = [];
const openLog = (container) => {
  const slug = container.replace(/^pipelock-/, "");
  const child = spawn(
    process.execPath,
    ["-e", EMITTER, String(RATE / BOTTLES), String(SECONDS), slug],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  emitters.push(child);
  const ended = new Promise((resolve) => child.on("close", resolve));
  return { stdout: child.stdout, stop: () => child.kill(), ended };
};

const noDocker = { run: async () => ({ exitCode: 0, stdout: "", stderr: "" }) };
const hub = new DecisionHub();
const token = "ab".repeat(24);
const server = await startDashboardServer({
  views: {
    docker: noDocker,
    home: "/nonexistent-bench-home",
    now: () => new Date(),
    actor: "bench",
    hub,
  },
  token,
  port: 0,
});
const origin = `http://127.0.0.1:${server.port}`;
const context = await browser.newContext();
const page = await context.newPage();
await page.goto(server.url);
await page.locator("#status", { hasText: /^live$/ }).waitFor();
const cookie = (await context.cookies(origin)).map((c) => `${c.name}=${c.value}`).join("; ");

// The raw client: counts events and checks their numbers run 1, 2, 3… without a hole.
let received = 0;
let expected = 1;
let holes = 0;
const sse = await fetch(`${origin}/api/events`, {
  headers: { cookie, accept: "text/event-stream" },
});
const reader = sse.body.getReader();
const decoder = new TextDecoder();
let buffer = "";
const reading = (async () => {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = message.split("\n").find((l) => l.startsWith("data: "));
      if (data !== undefined && message.includes("event: decisions")) {
        for (const e of JSON.parse(data.slice(6))) {
          if (e.seq !== expected) holes += 1;
          expected = e.seq + 1;
          received += 1;
        }
      }
      end = buffer.indexOf("\n\n");
    }
  }
})();

const follower = new LogFollower(hub, openLog);
const started = Date.now();
follower.follow(
  Array.from({ length: BOTTLES }, (_, i) => ({
    slug: `bench-${i}`,
    source: "pipelock",
    container: `pipelock-bench-${i}`,
  })),
);
const total = RATE * SECONDS;
const deadline = Date.now() + (SECONDS + 60) * 1000;
let pageTotal = 0;
let lagMs = 0;
while (Date.now() < deadline) {
  pageTotal = Number(await page.locator("#decision-count").getAttribute("data-total"));
  if (received >= total && pageTotal >= total) break;
  await new Promise((r) => setTimeout(r, 100));
}
lagMs = Date.now() - started - 2000 - SECONDS * 1000;
const pageMissed = await page.locator("#decision-count").textContent();
follower.stop();
await reader.cancel().catch(() => {});
await reading.catch(() => {});

await context.close();
await server.close();
for (const e of emitters) e.kill();
const firstLoad = await measureFirstLoad(browser, {
  runs: RUNS,
  engine: !flags.includes("--no-engine"),
});
const head = header();
await browser.close();

console.log(head);
console.log(`| stream: ${RATE}/s from ${BOTTLES} bottles for ${SECONDS} s | value |`);
console.log("| --- | ---: |");
console.log(`| decisions sent | ${total} |`);
console.log(`| published by the hub | ${hub.lastSeq} |`);
console.log(`| received by the SSE client | ${received} (${holes} holes in the numbering) |`);
console.log(`| shown by the page | ${pageTotal} (${pageMissed}) |`);
console.log(`| all shown, after the emitters' planned end | ${Math.max(0, lagMs)} ms |`);
console.log("");
printFirstLoad(firstLoad);
process.exit(received === total && holes === 0 && pageTotal === total ? 0 : 1);
