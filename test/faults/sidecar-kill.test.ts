// Faults in a real bottle: a sidecar dies. With pipelock gone the agent's traffic fails
// closed (egress has no other way out, and the agent none at all) and flows again once
// pipelock is started by hand; with egress gone no direct path appears, pipelock still
// decides, and the route's token stays where it was. `docker kill` is a deliberate stop,
// which the sidecars' on-failure restart policy leaves down (a crash it brings back: see
// sidecar-restart.test.ts), so each sidecar is started again with `docker start`.
import { execFileSync } from "node:child_process";
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

const TOKEN = "cbtest-faults-route-token-93d1c7";
const ALLOWED = "allowed.example.test";
const ROUTE = "api.example.test";

function state(container: string): string {
  return execFileSync(
    "docker",
    [
      "inspect",
      "-f",
      "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
      container,
    ],
    { encoding: "utf8" },
  ).trim();
}

/** Waits until the container's "status health" starts with `wanted`. */
async function waitForState(container: string, wanted: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!state(container).startsWith(wanted)) {
    if (Date.now() > deadline) {
      throw new Error(`${container} is "${state(container)}", not "${wanted}"`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

describeWithEngine("faults: a sidecar dies", () => {
  const suite = escapeSuite();
  let bottle: RunningBottle;
  let upstream: RecordingUpstream;
  let egressContainer: string;

  const received = async () => (await upstream.requests()).length;
  /** What reached the stand-in for the unlisted name (it answers on it, so a leak lands). */
  const unlistedArrivals = async () =>
    (await upstream.requests())
      .filter((q) => [q.sni, ...headerValues(q, "host")].some((h) => h?.startsWith("unlisted.")))
      .map((q) => `${q.method} ${q.url}`);
  /** The agent's usual requests: an allowed host, plain http, and the route. */
  const usual = async () => ({
    https: (await curlThrough(bottle, `https://${ALLOWED}/fault`)).http,
    http: (await curlThrough(bottle, `http://${ALLOWED}/fault-plain`)).http,
    route: (await curlThrough(bottle, `https://${ROUTE}/v1/fault`)).http,
  });
  /** Direct TCP, UDP and ICMP to the stand-in upstream: never a way out. */
  const directPaths = async () => {
    const hosts = [ipOn(upstream.container, bottle.egressNetwork)];
    const ops = everyProtocol(hosts, [443, 80]);
    return reachedTargets(ops, await probe(bottle.agentContainer, ops));
  };

  beforeAll(async () => {
    bottle = await suite.startBottle(
      "faults",
      routedBottle({ allow: [ALLOWED], route: ROUTE, token: TOKEN }),
    );
    egressContainer = `claude-bottle-egress-${bottle.slug}`;
    upstream = await suite.startUpstream(bottle, [ALLOWED, ROUTE, "unlisted.example.test"]);
  });

  it("works before anything fails (the control)", async () => {
    expect(await usual()).toEqual({ https: 200, http: 200, route: 200 });
  });

  it("fails closed while pipelock is down: nothing reaches the upstream, by any path", async () => {
    // Threat: with the firewall gone, traffic flows unchecked or a direct path opens.
    execFileSync("docker", ["kill", bottle.pipelockContainer], { stdio: "ignore" });
    await waitForState(bottle.pipelockContainer, "exited");
    const before = await received();
    const down = await usual();
    expect([down.https, down.http, down.route].filter((s) => s >= 200 && s < 300)).toEqual([]);
    expect(
      (await curlThrough(bottle, `https://${ALLOWED}/`, { proxy: pipelockProxy(bottle) })).connect,
    ).toBe(0);
    expect(await directPaths()).toEqual([]);
    expect(await received()).toBe(before);
    // egress is still running, with the token, and still has no way out but pipelock.
    expect(state(egressContainer)).toMatch(/^running/);
  });

  it("works again once pipelock is started, with its policy intact", async () => {
    execFileSync("docker", ["start", bottle.pipelockContainer], { stdio: "ignore" });
    await waitForState(bottle.pipelockContainer, "running healthy");
    expect(await usual()).toEqual({ https: 200, http: 200, route: 200 });
    expect(await curlThrough(bottle, "https://unlisted.example.test/fault")).toMatchObject({
      http: 403,
      body: expect.stringContaining("not on this bottle's egress allowlist"),
    });
    expect(await unlistedArrivals()).toEqual([]);
    const routed = (await upstream.requests()).filter((q) => q.url === "/v1/fault").at(-1);
    expect(routed === undefined ? [] : headerValues(routed, "authorization")).toEqual([
      `Bearer ${TOKEN}`,
    ]);
  });

  it("opens no direct path while egress is down, and pipelock still decides", async () => {
    // Threat: the agent's proxy is gone, so it dials out itself or reaches the route without checks.
    execFileSync("docker", ["kill", egressContainer], { stdio: "ignore" });
    await waitForState(egressContainer, "exited");
    const down = await usual();
    expect([down.https, down.http, down.route]).toEqual([0, 0, 0]);
    expect(await directPaths()).toEqual([]);
    // pipelock is the agent's other way in, and it is still the firewall.
    const viaPipelock = { proxy: pipelockProxy(bottle) };
    expect(
      await curlThrough(bottle, "https://unlisted.example.test/fault", viaPipelock),
    ).toMatchObject({ http: 403, body: expect.stringContaining("egress allowlist") });
    expect(await unlistedArrivals()).toEqual([]);
    expect((await curlThrough(bottle, `https://${ROUTE}/v1/no-egress`, viaPipelock)).http).toBe(
      200,
    );
    // Without egress the route's token goes nowhere: the request arrives without it.
    const bare = (await upstream.requests()).filter((q) => q.url === "/v1/no-egress");
    expect(bare.map((q) => headerValues(q, "authorization"))).toEqual([[]]);
  });

  it("works again once egress is started", async () => {
    execFileSync("docker", ["start", egressContainer], { stdio: "ignore" });
    await waitForState(egressContainer, "running healthy");
    expect(await usual()).toEqual({ https: 200, http: 200, route: 200 });
    const routed = (await upstream.requests()).filter((q) => q.url === "/v1/fault").at(-1);
    expect(routed === undefined ? [] : headerValues(routed, "authorization")).toEqual([
      `Bearer ${TOKEN}`,
    ]);
  });
});
