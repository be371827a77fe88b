// pipelock in a real, routes-free bottle while its policy changes under it and while it is fed
// garbage: the agent talks to pipelock directly, the policy file is rewritten in place as the
// CLI does, and the pipelock container must neither restart nor drop what it holds open.
import { beforeAll, expect, it } from "vitest";
import type { RunningBottle } from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";
import { dockerOn } from "../support/docker/test-backend.js";
import {
  ADDED,
  ALLOWED,
  httpRequest,
  planeBottle,
  rewritePolicy,
  usePlane,
  waitFor,
} from "./plane-fixture.js";

const BOTTLE = planeBottle({});

/**
 * "<restarts> <started at>" of pipelock's container: changes if it restarted or was recreated
 * (on the swarm a restart is a new task, so a new container).
 */
function lifeOf(bottle: RunningBottle): string {
  return dockerOn({ env: bottle.engine }, [
    "inspect",
    "-f",
    "{{.RestartCount}} {{.State.StartedAt}} {{.State.Running}}",
    bottle.containerOf("pipelock"),
  ]).trim();
}

describeWithEngine("egress plane: live policy and malformed input", () => {
  const plane = usePlane({
    name: "plane-live",
    bottleYaml: BOTTLE,
    upstreamHosts: [ALLOWED, ADDED],
  });
  let life: string;

  /** Two GETs on one tunnel to `host`, the second once `file` exists in the agent. */
  const getsAcross = (host: string, [first, second]: [string, string], file: string) => {
    const get = (path: string) => ({ send: [{ text: httpRequest("GET", path, { Host: host }) }] });
    return plane.exchange({
      connect: `${host}:443`,
      tls: {},
      timeoutMs: 60_000,
      steps: [get(first), { waitForFile: file }, get(second)],
    });
  };

  beforeAll(async () => {
    life = lifeOf(plane.bottle);
  });

  // Approving a host must not cut the agent's work in progress, and must take effect at once.
  it("adds a host on reload while a keep-alive connection and a long request stay up", async () => {
    const refused = await plane.curl([`https://${ADDED}/before-reload`]);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`"${ADDED}:443" is not on this bottle's egress allowlist`);
    expect(await plane.seen("/before-reload")).toEqual([]);

    const reloaded = "/tmp/policy-gained-a-host";
    const keepAlive = getsAcross(ALLOWED, ["/keep-alive/1", "/keep-alive/2"], reloaded);
    let longDone = false;
    const long = plane.curl([`https://${ALLOWED}/slow?ms=6000`]).finally(() => {
      longDone = true;
    });
    await waitFor("both requests to reach the upstream", async () =>
      (await plane.seen("/keep-alive/1")).length > 0 && (await plane.seen("/slow")).length > 0
        ? true
        : undefined,
    );

    await rewritePolicy(plane, (policy) => {
      policy.allow = [...policy.allow, ADDED];
    });
    expect(longDone).toBe(false);
    await plane.bottle.exec(`touch ${reloaded}`);

    const [open, slow] = await Promise.all([keepAlive, long]);
    expect(open.responses.map((r) => r.status)).toEqual([200, 200]);
    expect(slow).toMatchObject({ status: 200, body: "slow: started\nslow: finished\n" });
    const added = await plane.curl([`https://${ADDED}/after-reload`]);
    expect(added.status).toBe(200);
    expect(lifeOf(plane.bottle)).toBe(life);
  });

  // Revoking a host must hold at once, even for a tunnel the agent opened before.
  it("refuses a removed host for new requests, inside an open tunnel too", async () => {
    const narrowed = "/tmp/policy-lost-a-host";
    const tunnel = getsAcross(ADDED, ["/removed/before", "/removed/after"], narrowed);
    await waitFor("the first request to reach the upstream", async () =>
      (await plane.seen("/removed/before")).length > 0 ? true : undefined,
    );
    await rewritePolicy(plane, (policy) => {
      policy.allow = policy.allow.filter((host) => host !== ADDED);
    });
    await plane.bottle.exec(`touch ${narrowed}`);

    const open = await tunnel;
    expect(open.responses.map((r) => r.status)).toEqual([200, 403]);
    expect(open.responses[1]?.body).toContain(
      `"${ADDED}:443" is not on this bottle's egress allowlist`,
    );
    const fresh = await plane.curl([`https://${ADDED}/removed/new`]);
    expect(fresh.status).toBe(403);
    expect(fresh.body).toContain(`"${ADDED}:443" is not on this bottle's egress allowlist`);
    expect(await plane.seen("/removed/after")).toEqual([]);
    expect(await plane.seen("/removed/new")).toEqual([]);
    expect((await plane.curl([`https://${ALLOWED}/still-there`])).status).toBe(200);
  });

  // A confused or hostile agent must not be able to take the bottle's only way out down.
  it("still serves after 1,000 malformed inputs, without a restart", async () => {
    const flood = await plane.flood({
      proxy: `${plane.bottle.pipelockContainer}:8888`,
      count: 1000,
      allowed: ALLOWED,
      tunnel: `${ALLOWED}:443`,
    });
    expect(flood.error).toBeUndefined();
    expect(flood.sent).toBe(1000);
    // Most inputs get an answer (a 4xx) rather than a silent close.
    expect(flood.answered).toBeGreaterThan(500);

    const r = await plane.curl([`https://${ALLOWED}/after-flood`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ok: true, url: "/after-flood" });
    expect(lifeOf(plane.bottle)).toBe(life);
    const logs = await plane.pipelockLogs();
    expect(logs).not.toMatch(/uncaught exception|unhandled rejection|request failed/);
  });
});
