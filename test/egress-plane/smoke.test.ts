// The egress plane in a real bottle: intercepted TLS to an allowlisted stand-in upstream,
// a refused unlisted host, and a route's token injected while the agent never holds it.
import { expect, it } from "vitest";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  ALLOWED,
  planeBottle,
  ROUTE_HOST,
  ROUTE_TOKEN,
  UNLISTED,
  usePlane,
} from "./plane-fixture.js";

describeWithEngine("egress plane smoke", () => {
  const plane = usePlane({
    name: "plane",
    bottleYaml: planeBottle({ route: true }),
    upstreamHosts: [ALLOWED, ROUTE_HOST, UNLISTED],
  });

  it("reaches an allowlisted host through intercepted TLS", async () => {
    const r = await plane.bottle.exec("curl -sS -m 10 https://allowed.example.test/hello");
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/hello" });
  });

  it("refuses an unlisted host, telling why inside the tunnel", async () => {
    const r = await plane.bottle.exec(
      "curl -sS -m 10 -w '\\n%{http_connect} %{http_code}' https://unlisted.example.test/smoke 2>&1",
    );
    expect(r.stdout).toContain(
      '"unlisted.example.test:443" is not on this bottle\'s egress allowlist',
    );
    expect(r.stdout).toMatch(/\n200 403$/);
    expect((await plane.upstream.requests()).filter((q) => q.url === "/smoke")).toEqual([]);
  });

  it("injects the route token upstream and strips the agent's own", async () => {
    const r = await plane.bottle.exec(
      "curl -sS -m 10 -H 'Authorization: Bearer agent-fake' https://api.example.test/v1/models",
    );
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, url: "/v1/models" });
    const seen = (await plane.upstream.requests()).filter((q) => q.url === "/v1/models");
    expect(seen.at(-1)?.headers.authorization).toBe(`Bearer ${ROUTE_TOKEN}`);
    const env = await plane.bottle.exec("env; cat /proc/1/environ");
    expect(env.stdout).not.toContain(ROUTE_TOKEN);
  });
});
