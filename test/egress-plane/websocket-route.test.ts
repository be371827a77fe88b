// A WebSocket to a route host from inside a real bottle: egress injects the route's token into
// the upgrade, pipelock scans the agent's frames, and every frame the stand-in sends back
// (which repeats the Authorization it received) reaches the agent with the token scrubbed.
import { expect, it } from "vitest";
import { placeholderOf } from "../../src/sidecars/egress/token-scrub.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  ALLOWED,
  KNOWN_SECRET,
  planeBottle,
  ROUTE_HOST,
  ROUTE_TOKEN,
  usePlane,
  waitFor,
} from "./plane-fixture.js";
import { webSocketExchange, wsClientFrame, wsServerFrames } from "./plane-websocket.js";

const PLACEHOLDER = placeholderOf(ROUTE_TOKEN.length);

describeWithEngine("egress plane: WebSocket on a route host", () => {
  const plane = usePlane({
    name: "plane-ws",
    bottleYaml: planeBottle({ knownSecret: true, route: true }),
    upstreamHosts: [ALLOWED, ROUTE_HOST],
  });

  it("carries the real token upstream and hands the agent only scrubbed frames", async () => {
    const since = new Date();
    const r = await webSocketExchange(plane, {
      host: ROUTE_HOST,
      path: "/v1/ws/authorization",
      headers: {
        "Sec-WebSocket-Extensions": "permessage-deflate",
        Authorization: "Bearer agent-placeholder",
      },
      messages: [{ send: [{ text: wsClientFrame(1, "hello, route") }], quietMs: 500 }],
    });
    expect(r.error).toBeUndefined();
    expect(r.responses[0]?.status).toBe(101);
    expect(r.responses[0]?.head.toLowerCase()).not.toContain("sec-websocket-extensions");
    const received = r.responses[1]?.body ?? "";
    const frames = wsServerFrames(received);
    expect(frames.map((f) => [f.opcode, f.payload.toString()])).toEqual([
      [1, `authorization: Bearer ${PLACEHOLDER}`],
      [1, expect.any(String)],
      [0, expect.any(String)],
      [1, "hello, route"],
    ]);
    // The fragmented message, cut inside the token, reassembles to the placeholder.
    expect(`${frames[1]?.payload}${frames[2]?.payload}`).toBe(
      `authorization: Bearer ${PLACEHOLDER}`,
    );
    const everything = `${r.responses[0]?.head}${received}`;
    for (const form of [
      ROUTE_TOKEN,
      Buffer.from(ROUTE_TOKEN).toString("base64"),
      Buffer.from(ROUTE_TOKEN).toString("hex"),
    ]) {
      expect(everything).not.toContain(form);
    }

    // The stand-in got the real token on the upgrade, not the agent's, and the agent's frame.
    const seen = await plane.seen("/v1/ws/authorization");
    const upgrade = seen.find((q) => q.method === "GET");
    expect(upgrade?.headers.authorization).toBe(`Bearer ${ROUTE_TOKEN}`);
    expect(upgrade?.headers["sec-websocket-extensions"]).toBeUndefined();
    expect(seen.filter((q) => q.method === "WS-MESSAGE").map((q) => q.bodyLength)).toEqual([
      "hello, route".length,
    ]);

    // pipelock saw the upgrade (and scanned what the agent sent through it); egress logged a
    // routed exchange answered 101.
    const audit = await plane.auditSince(since, 2);
    expect(audit).toContainEqual(
      expect.objectContaining({ host: ROUTE_HOST, status: 101, decision: "allowed" }),
    );
    const logged = await waitFor("egress's line for the WebSocket", async () => {
      const lines = (await plane.egressLogs())
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return lines.find((l) => l.kind === "intercept" && l.status === 101);
    });
    expect(logged).toMatchObject({ routed: true, host: ROUTE_HOST, method: "GET" });
    expect(await plane.egressLogs()).not.toContain(ROUTE_TOKEN);
    const env = await plane.bottle.exec("env; cat /proc/1/environ");
    expect(env.stdout).not.toContain(ROUTE_TOKEN);
  });

  it("ends the connection when the agent's frame carries a secret, as for any host", async () => {
    // pipelock still reads every frame the agent sends through egress.
    const r = await webSocketExchange(plane, {
      host: ROUTE_HOST,
      path: "/v1/ws/echo",
      messages: [{ send: [{ text: wsClientFrame(1, `leak ${KNOWN_SECRET}`) }] }],
    });
    expect(r.responses[0]?.status).toBe(101);
    const [close] = wsServerFrames(r.responses[1]?.body ?? "");
    expect(close?.opcode).toBe(8);
    expect(r.responses[1]?.closed).toBe(true);
    const messages = (await plane.seen("/v1/ws/echo")).filter((q) => q.method === "WS-MESSAGE");
    expect(messages).toEqual([]);
  });
});
