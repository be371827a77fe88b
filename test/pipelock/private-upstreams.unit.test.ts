import { describe, expect, it } from "vitest";
import {
  rawExchange,
  startTestProxy,
  startUpstream,
  usePipelockTestScope,
} from "../support/sidecars/pipelock-proxy-fixture.js";

describe("pipelock with privateUpstreams: deny", () => {
  const scope = usePipelockTestScope();

  it("answers 403 for an allowlisted name that resolves to loopback, and audits it", async () => {
    const plain = await startUpstream(scope.cas, false);
    scope.closeAfter(() => plain.close());
    const s = await startTestProxy(scope.cas, {
      allow: [`api.test:${plain.port}`],
      privateUpstreams: "deny",
    });
    scope.closeAfter(() => s.proxy.close());
    const answer = await rawExchange(
      s.proxy.address.port,
      `GET http://api.test:${plain.port}/ HTTP/1.1\r\nHost: api.test:${plain.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 403/);
    expect(answer).toContain("api.test resolves to 127.0.0.1, a private or local address");
    expect(plain.seen).toEqual([]);
    expect(s.audit.events.at(-1)).toMatchObject({ decision: "denied", rule: "private-address" });
  });
});
