// Faults in a real bottle: a sidecar's main process crashes. The restart policy brings it
// back with no CLI action, and while it is down the bottle fails closed: the agent's
// request to an allowed host is refused, and the stand-in upstream receives nothing, by
// any path. To hold pipelock down long enough to probe, its CA key is made unreadable on
// the host first: each restart then fails on start, until the mode is put back.
import { execFileSync } from "node:child_process";
import { chmod } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  curlThrough,
  everyProtocol,
  pipelockProxy,
  reachedTargets,
} from "../support/docker/escape-bottle.js";
import { probe } from "../support/docker/escape-probe.js";
import { escapeSuite } from "../support/docker/escape-suite.js";
import { routedBottle } from "../support/fixtures/bottle-yaml.js";
import { headerValues, ipOn, type RecordingUpstream } from "../support/standins/escape-standins.js";

const TOKEN = "cbtest-restart-route-token-4be2a0";
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";

interface ContainerState {
  status: string;
  health: string;
  restarts: number;
  startedAt: string;
}

function inspectState(container: string): ContainerState {
  const [status = "", health = "", restarts = "0", startedAt = ""] = execFileSync(
    "docker",
    [
      "inspect",
      "-f",
      "{{.State.Status}}|{{if .State.Health}}{{.State.Health.Status}}{{end}}|{{.RestartCount}}|{{.State.StartedAt}}",
      container,
    ],
    { encoding: "utf8" },
  )
    .trim()
    .split("|");
  return { status, health, restarts: Number(restarts), startedAt };
}

async function waitUntil(what: string, check: () => boolean, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/**
 * SIGKILLs the container's main node process (the child of its init), from inside, as the
 * sidecar's own user: a crash, not a `docker kill` or `stop`, which the engine treats as
 * deliberate and leaves down. Returns the pid it killed.
 */
function crashMainProcess(container: string): number {
  const out = execFileSync(
    "docker",
    [
      "exec",
      container,
      "sh",
      "-c",
      `for p in /proc/[0-9]*; do
         [ "$(cat "$p/comm" 2>/dev/null)" = node ] || continue
         [ "$(sed -n 's/^PPid:[[:space:]]*//p' "$p/status")" = 1 ] || continue
         kill -KILL "\${p##*/}" && echo "\${p##*/}"
       done`,
    ],
    { encoding: "utf8" },
  ).trim();
  if (!/^\d+$/.test(out)) throw new Error(`no single main node process in ${container}: "${out}"`);
  return Number(out);
}

describeWithEngine("faults: a sidecar crashes and its restart policy brings it back", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let egress: string;

  const paths = async () => (await upstream.requests()).map((q) => q.url);
  const viaEgress = (path: string) => curlThrough(bottle, `https://${ALLOWED}${path}`);
  const viaPipelock = (path: string) =>
    curlThrough(bottle, `https://${ALLOWED}${path}`, { proxy: pipelockProxy(bottle) });
  const healthyAgain = (container: string, before: ContainerState) => () => {
    const now = inspectState(container);
    return now.restarts > before.restarts && now.status === "running" && now.health === "healthy";
  };

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "restarts",
      routedBottle({ allow: [ALLOWED], route: ROUTE, token: TOKEN }),
    );
    egress = `claude-bottle-egress-${bottle.slug}`;
    upstream = await suite.startUpstream(bottle, [ALLOWED, ROUTE]);
  });

  it("serves an allowed request before anything crashes (the control)", async () => {
    expect((await viaEgress("/control")).http).toBe(200);
    expect(await paths()).toEqual(["/control"]);
  });

  it("brings pipelock back after its process is killed, with no CLI action", async () => {
    const before = inspectState(bottle.pipelockContainer);
    crashMainProcess(bottle.pipelockContainer);
    await waitUntil(
      "pipelock to restart and be healthy",
      healthyAgain(bottle.pipelockContainer, before),
    );
    expect(inspectState(bottle.pipelockContainer).startedAt).not.toBe(before.startedAt);
    expect((await viaEgress("/after-crash")).http).toBe(200);
    expect((await viaPipelock("/after-crash-direct")).http).toBe(200);
    // Still the firewall it was: its policy and CA came back with it.
    expect(await curlThrough(bottle, "https://unlisted.example.test/")).toMatchObject({
      http: 403,
      body: expect.stringContaining("not on this bottle's egress allowlist"),
    });
    expect(await paths()).toEqual(["/control", "/after-crash", "/after-crash-direct"]);
  });

  it("fails closed while pipelock cannot come back, then recovers by itself", async () => {
    // Threat: while the firewall is down, a request flows unchecked or a direct path opens.
    const key = join(suite.home.home, "state", bottle.slug, "pipelock", "ca-key.pem");
    const before = inspectState(bottle.pipelockContainer);
    await chmod(key, 0o000);
    try {
      crashMainProcess(bottle.pipelockContainer);
      // At least one restart has failed on the unreadable key: pipelock is down, not starting.
      await waitUntil("pipelock's first failed restart", () => {
        const now = inspectState(bottle.pipelockContainer);
        return (
          now.restarts >= before.restarts + 2 ||
          (now.restarts > before.restarts && now.status !== "running")
        );
      });
      const down = [
        await viaEgress("/while-down"),
        await viaPipelock("/while-down-direct"),
        await curlThrough(bottle, `http://${ALLOWED}/while-down-plain`),
        await curlThrough(bottle, `https://${ROUTE}/v1/while-down`),
      ];
      expect(down.filter((r) => r.http >= 200 && r.http < 300)).toEqual([]);
      // egress still answers CONNECT itself (it terminates the agent's TLS); pipelock,
      // dialled directly, answers nothing at all.
      expect(down[1]).toMatchObject({ connect: 0, http: 0 });
      const direct = everyProtocol([ipOn(upstream.container, bottle.egressNetwork)], [443, 80]);
      expect(reachedTargets(direct, await probe(bottle.agentContainer, direct))).toEqual([]);
      expect(inspectState(egress).status).toBe("running");
      // Nothing arrived while pipelock was down, by any path.
      expect(await paths()).toEqual(["/control", "/after-crash", "/after-crash-direct"]);
    } finally {
      await chmod(key, 0o600);
    }
    // The next restart (Docker's back-off is at most a minute) finds the key again.
    await waitUntil(
      "pipelock to come back on its own",
      healthyAgain(bottle.pipelockContainer, before),
      180_000,
    );
    expect((await viaEgress("/recovered")).http).toBe(200);
    expect((await curlThrough(bottle, `https://${ROUTE}/v1/recovered`)).http).toBe(200);
    const routed = (await upstream.requests()).filter((q) => q.url === "/v1/recovered");
    expect(routed.map((q) => headerValues(q, "authorization"))).toEqual([[`Bearer ${TOKEN}`]]);
    expect((await paths()).filter((p) => p.includes("while-down"))).toEqual([]);
  });

  it("brings egress back after its process is killed, with the route's token still injected", async () => {
    const before = inspectState(egress);
    crashMainProcess(egress);
    await waitUntil("egress to restart and be healthy", healthyAgain(egress, before));
    expect((await curlThrough(bottle, `https://${ROUTE}/v1/egress-back`)).http).toBe(200);
    const routed = (await upstream.requests()).filter((q) => q.url === "/v1/egress-back");
    expect(routed.map((q) => headerValues(q, "authorization"))).toEqual([[`Bearer ${TOKEN}`]]);
  });
});
