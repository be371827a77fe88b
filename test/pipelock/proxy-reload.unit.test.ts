import { describe, expect, it } from "vitest";
import {
  exchangeOn,
  type FakeUpstream,
  type FilePipelock,
  startFilePipelock,
  startUpstream,
  tlsTunnel,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

const scope = usePipelockTestScope();

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function started(
  allow: (port: number) => string[],
): Promise<{ p: FilePipelock; up: FakeUpstream }> {
  const up = await startUpstream(scope.cas);
  scope.closeAfter(() => up.close());
  const p = await startFilePipelock(scope.cas, { allow: allow(up.port) });
  scope.closeAfter(() => p.close());
  return { p, up };
}

describe("pipelock: live policy reload", () => {
  it("applies a changed policy file to new and open connections, keeping the listener", async () => {
    const { p, up } = await started((port) => [`api.test:${port}`]);
    const port = p.running.server.address.port;
    const api = `api.test:${up.port}`;
    const other = `other.test:${up.port}`;
    const tunnel = await tlsTunnel(port, api, { ca: scope.cas.bottle.certPem });
    scope.closeAfter(async () => tunnel.destroy());
    const ask = (path: string) =>
      exchangeOn(tunnel, `GET ${path} HTTP/1.1\r\nHost: ${api}\r\n\r\n`);
    expect((await ask("/before")).status).toBe(200);

    await p.writeConfig({ allow: [api, other] });
    await until(() => p.running.server.policy.config.allow.includes(other), "the new host");
    const added = await tlsTunnel(port, other, { ca: scope.cas.bottle.certPem });
    expect((await exchangeOn(added, `GET /new HTTP/1.1\r\nHost: ${other}\r\n\r\n`)).status).toBe(
      200,
    );
    added.destroy();
    expect((await ask("/still")).status).toBe(200);
    expect(p.running.server.address.port).toBe(port);

    await p.writeConfig({ allow: [other] });
    await until(() => !p.running.server.policy.config.allow.includes(api), "the removal");
    const refused = await ask("/after");
    expect(refused.status).toBe(403);
    expect(refused.body).toContain(`"${api}" is not on this bottle's egress allowlist`);
    const reopened = await tlsTunnel(port, api, { ca: scope.cas.bottle.certPem });
    scope.closeAfter(async () => reopened.destroy());
    const again = await exchangeOn(reopened, `GET /again HTTP/1.1\r\nHost: ${api}\r\n\r\n`);
    expect(again.status).toBe(403);
    expect(again.body).toContain(`"${api}" is not on this bottle's egress allowlist`);
    expect(up.seen.map((r) => r.url)).toEqual(["/before", "/new", "/still"]);
  });

  it("keeps the policy in force when the new file is invalid", async () => {
    const { p, up } = await started((port) => [`api.test:${port}`]);
    await p.writeConfig({ allow: ["*"] });
    expect(await p.running.reload()).toBe(false);
    expect(p.running.server.policy.config.allow).toEqual([`api.test:${up.port}`]);
    await p.writeConfig({ allow: [`api.test:${up.port}`, "new.test"] });
    expect(await p.running.reload()).toBe(true);
    expect(p.running.server.policy.config.allow).toContain("new.test");
  });
});
