// The egress plane in a real bottle: intercepted TLS to an allowlisted stand-in upstream,
// a refused unlisted host, and a route's token injected while the agent never holds it.
import { afterAll, beforeAll, expect, it } from "vitest";
import { makeTestHome, type TestHome } from "../support/cli/cli-process.js";
import {
  type FakeUpstream,
  makeUpstreamCa,
  type RunningBottle,
  removeTestContainers,
  startBottle,
  startFakeUpstream,
  type UpstreamCa,
} from "../support/docker/bottle-harness.js";
import { describeWithEngine } from "../support/docker/engine.js";

const TOKEN = "cbtest-api-token-5e4d3c2b1a09";

describeWithEngine("egress plane smoke", () => {
  let t: TestHome;
  let ca: UpstreamCa;
  let bottle: RunningBottle;
  let upstream: FakeUpstream;

  beforeAll(async () => {
    t = await makeTestHome();
    ca = await makeUpstreamCa();
    await t.writeManifest(
      "bottles",
      "plane",
      `---
egress:
  allow: [allowed.example.test]
  routes:
    - host: api.example.test
      paths: ["/v1/"]
      auth: { scheme: Bearer, token_env: CB_API_TOKEN }
supervise: false
---
`,
    );
    await t.writeManifest("agents", "plane", "---\nbottle: plane\n---\nagent\n");
    bottle = await startBottle(t, "plane", {
      CB_API_TOKEN: TOKEN,
      CLAUDE_BOTTLE_UPSTREAM_CA: ca.caFile,
    });
    upstream = await startFakeUpstream(bottle, ca, [
      "allowed.example.test",
      "api.example.test",
      "unlisted.example.test",
    ]);
  });

  afterAll(async () => {
    // The stand-in first: Compose cannot remove a network a container is still attached to.
    await upstream?.remove();
    if (bottle !== undefined) removeTestContainers(bottle);
    await bottle?.stop();
    await ca?.dispose();
    await t?.dispose();
  });

  it("reaches an allowlisted host through intercepted TLS", async () => {
    const r = await bottle.exec("curl -sS -m 10 https://allowed.example.test/hello");
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/hello" });
  });

  it("refuses an unlisted host at CONNECT", async () => {
    const r = await bottle.exec(
      "curl -sS -m 10 https://unlisted.example.test/ 2>&1; echo; curl -sS -m 10 -x '' -p -o /dev/null -w '%{http_code}' https://unlisted.example.test/ 2>&1 || true",
    );
    expect(r.stdout).toContain("CONNECT tunnel failed, response 403");
  });

  it("injects the route token upstream and strips the agent's own", async () => {
    const r = await bottle.exec(
      "curl -sS -m 10 -H 'Authorization: Bearer agent-fake' https://api.example.test/v1/models",
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/v1/models" });
    const seen = (await upstream.requests()).filter((q) => q.url === "/v1/models");
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    const env = await bottle.exec("env; cat /proc/1/environ");
    expect(env.stdout).not.toContain(TOKEN);
  });
});
