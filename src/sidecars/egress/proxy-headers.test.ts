import { describe, expect, it } from "vitest";
import { downstreamResponseHeaders, upstreamRequestHeaders } from "./proxy-headers.js";

const raw = [
  ["Host", "api.test"],
  ["Authorization", "Bearer agent"],
  ["X-API-Key", "agent"],
  ["Proxy-Authorization", "Basic x"],
  ["Connection", "keep-alive, X-Drop"],
  ["X-Drop", "1"],
  ["Keep-Alive", "timeout=5"],
  ["Expect", "100-continue"],
  ["Accept", "a"],
  ["accept", "b"],
  ["Transfer-Encoding", "chunked"],
].flat();

describe("upstreamRequestHeaders", () => {
  it("swaps every agent credential for the route's header", () => {
    expect(upstreamRequestHeaders(raw, { name: "authorization", value: "Bearer real" })).toEqual({
      host: "api.test",
      accept: ["a", "b"],
      "transfer-encoding": "chunked",
      "accept-encoding": "identity",
      authorization: "Bearer real",
    });
    expect(upstreamRequestHeaders(raw, { name: "x-api-key", value: "real" })).toEqual({
      host: "api.test",
      accept: ["a", "b"],
      "transfer-encoding": "chunked",
      "accept-encoding": "identity",
      "x-api-key": "real",
    });
  });

  it("keeps the agent's own credentials without a route, minus the proxy's", () => {
    expect(upstreamRequestHeaders(raw, undefined)).toEqual({
      host: "api.test",
      authorization: "Bearer agent",
      "x-api-key": "agent",
      accept: ["a", "b"],
      "transfer-encoding": "chunked",
      "accept-encoding": "identity",
    });
  });

  it.each([
    [[], "identity"],
    [["Accept-Encoding", "gzip, deflate, br, zstd"], "gzip, deflate, br"],
    [["accept-encoding", "zstd", "ACCEPT-ENCODING", "BR;q=0.5"], "br"],
    [["Accept-Encoding", "gzip;q=0, compress, *"], "identity"],
    [["Accept-Encoding", "gzip;q=0.0, deflate"], "deflate"],
  ])("asks the upstream only for codings egress decodes: %j → %s", (agentHeaders, sent) => {
    const headers = upstreamRequestHeaders(["Host", "a.test", ...agentHeaders], undefined);
    expect(headers["accept-encoding"]).toBe(sent);
    expect(Object.keys(headers).filter((k) => k.toLowerCase() === "accept-encoding")).toHaveLength(
      1,
    );
  });
});

describe("downstreamResponseHeaders", () => {
  it("drops hop-by-hop headers and keeps repeats in order", () => {
    expect(
      downstreamResponseHeaders(
        [
          ["Set-Cookie", "a=1"],
          ["Connection", "close, X-Hop"],
          ["X-Hop", "1"],
          ["Transfer-Encoding", "chunked"],
          ["Set-Cookie", "b=2"],
          ["Proxy-Authenticate", "Basic"],
        ].flat(),
      ),
    ).toEqual(["Set-Cookie", "a=1", "Set-Cookie", "b=2"]);
  });
});
