import { once } from "node:events";
import { ProxyAgent, request, WebSocket } from "undici";
import { describe, expect, it } from "vitest";
import { FAKE_CREDENTIALS } from "../support/fixtures/fake-credentials.js";
import {
  startTestProxy,
  startUpstream,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const TOKEN = FAKE_CREDENTIALS["github-pat"]?.hit ?? "";
const scope = usePipelockTestScope();

async function scenario() {
  const upstream = await startUpstream(scope.cas);
  scope.closeAfter(() => upstream.close());
  const registry = `registry.npm.test:${upstream.port}`;
  const other = `api.example.test:${upstream.port}`;
  const started = await startTestProxy(
    scope.cas,
    {
      allow: [registry, other],
      readOnly: [registry],
      dlp: { action: "block", secretEnv: ["AGENT_SECRET"] },
    },
    { AGENT_SECRET: "Zq7+Secret/Value_Kp9=Wm" },
  );
  scope.closeAfter(() => started.proxy.close());
  const agent = new ProxyAgent({ uri: started.url, requestTls: { ca: scope.cas.bottle.certPem } });
  scope.closeAfter(() => agent.close());
  const send = async (authority: string, method: string, path = "/tiny", body?: string) => {
    const r = await request(`https://${authority}${path}`, {
      method,
      dispatcher: agent,
      ...(body === undefined ? {} : { body }),
    });
    return { status: r.statusCode, text: await r.body.text() };
  };
  return { upstream, ...started, agent, registry, other, send };
}

describe("pipelock: read-only hosts (package registries)", () => {
  it("passes GET and HEAD to a read-only host and refuses every other method with a 403 that says why", async () => {
    const s = await scenario();
    expect((await s.send(s.registry, "GET")).status).toBe(200);
    expect((await s.send(s.registry, "HEAD")).status).toBe(200);
    for (const method of ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"]) {
      const r = await s.send(s.registry, method, "/tiny", method === "PUT" ? "{}" : undefined);
      expect(r.status, method).toBe(403);
      expect(r.text, method).toContain(
        `"registry.npm.test:${s.upstream.port}" is read-only in this bottle`,
      );
      expect(r.text, method).toContain(`this is a ${method} request`);
      expect(r.text, method).toContain("Publish from the host");
    }
    // The upstream saw the reads only.
    expect(s.upstream.seen.map((r) => r.method)).toEqual(["GET", "HEAD"]);
    const refused = s.audit.events.filter((e) => e.decision === "denied");
    expect(refused.map((e) => [e.method, e.rule, e.status])).toEqual(
      ["PUT", "POST", "DELETE", "PATCH", "OPTIONS"].map((m) => [m, "read-only-host", 403]),
    );
  });

  it("leaves other allowed hosts writable", async () => {
    const s = await scenario();
    expect((await s.send(s.other, "POST", "/x", "hello")).status).toBe(200);
    expect(s.upstream.seen.map((r) => r.method)).toEqual(["POST"]);
  });

  it("still scans reads for secrets: a GET carrying one in its path is blocked", async () => {
    const s = await scenario();
    const r = await s.send(s.registry, "GET", `/${encodeURIComponent(TOKEN)}`);
    expect(r.status).toBe(403);
    expect(r.text).toContain("looks like a secret");
    expect(s.upstream.seen).toEqual([]);
  });

  it("refuses a WebSocket upgrade to a read-only host", async () => {
    const s = await scenario();
    const ws = new WebSocket(`wss://${s.registry}/socket`, { dispatcher: s.agent });
    scope.closeAfter(async () => ws.close());
    const [event] = await once(ws, "error");
    expect(event).toBeDefined();
    expect(s.upstream.seen).toEqual([]);
    expect(s.audit.events.at(-1)).toMatchObject({
      method: "GET",
      rule: "read-only-host",
      status: 403,
    });
  });

  it("refuses a read-only pattern that is not a host in the policy file", async () => {
    const { PipelockConfigSchema } = await import("../../src/sidecars/pipelock/config.js");
    expect(PipelockConfigSchema.safeParse({ readOnly: ["not a host"] }).success).toBe(false);
    expect(PipelockConfigSchema.parse({}).readOnly).toEqual([]);
  });
});
