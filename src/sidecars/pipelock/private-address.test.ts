import type { LookupFunction } from "node:net";
import { describe, expect, it } from "vitest";
import { guardLookup, isPrivateAddress, PrivateUpstreamError } from "./private-address.js";

describe("isPrivateAddress", () => {
  it.each([
    ["127.0.0.1", 4],
    ["10.1.2.3", 4],
    ["172.17.0.1", 4],
    ["192.168.1.1", 4],
    ["169.254.169.254", 4],
    ["100.64.0.1", 4],
    ["0.0.0.0", 4],
    ["::1", 6],
    ["fd00::1", 6],
    ["fe80::1", 6],
    ["::ffff:127.0.0.1", 6],
  ])("%s is private", (address, family) => {
    expect(isPrivateAddress(address, family)).toBe(true);
  });

  it.each([
    ["203.0.113.7", 4],
    ["8.8.8.8", 4],
    ["2001:db8::1", 6],
  ])("%s is not", (address, family) => {
    expect(isPrivateAddress(address, family)).toBe(false);
  });
});

describe("guardLookup", () => {
  const answering =
    (address: string, family: number): LookupFunction =>
    (_host, _options, callback) =>
      (callback as (...args: unknown[]) => void)(null, address, family);

  function resolve(lookup: LookupFunction, all = false): Promise<unknown> {
    return new Promise((res, rej) =>
      lookup("api.test", { all }, (error, address) => (error ? rej(error) : res(address))),
    );
  }

  it("refuses a name that resolves to a private address, naming both", async () => {
    const lookup = guardLookup(() => false, answering("127.0.0.1", 4));
    await expect(resolve(lookup)).rejects.toThrow(
      "api.test resolves to 127.0.0.1, a private or local address; pipelock does not connect to those through a name (allowlist the address itself to allow it)",
    );
  });

  it("refuses when any of several answers is private", async () => {
    const many: LookupFunction = (_h, _o, callback) =>
      (callback as (...args: unknown[]) => void)(null, [
        { address: "203.0.113.7", family: 4 },
        { address: "10.0.0.5", family: 4 },
      ]);
    await expect(
      resolve(
        guardLookup(() => false, many),
        true,
      ),
    ).rejects.toBeInstanceOf(PrivateUpstreamError);
  });

  it("passes public answers, and private ones when allowed", async () => {
    expect(await resolve(guardLookup(() => false, answering("203.0.113.7", 4)))).toBe(
      "203.0.113.7",
    );
    expect(await resolve(guardLookup(() => true, answering("127.0.0.1", 4)))).toBe("127.0.0.1");
  });
});
