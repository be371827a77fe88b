import { describe, expect, it } from "vitest";
import { addressRoom, parseCidr, parseEnginePools } from "./address-pools.js";

describe("addressRoom", () => {
  it("a stock engine's pools hold 31 networks: 15 /16s of 172.16/12 and 16 /20s of 192.168/16", () => {
    const room = addressRoom(undefined, []);
    expect(room).toMatchObject({ defaults: true, total: 31, used: 0, bottles: 15 });
  });

  it("counts each network whose subnet lies in a pool, two to a bottle", () => {
    const room = addressRoom(undefined, [
      "172.17.0.0/16", // the default bridge
      "172.18.0.0/16",
      "192.168.16.0/20",
      "fd00:1::/64", // IPv6: not cut from these pools
      "10.9.0.0/24", // set by hand, outside every pool
    ]);
    expect(room).toMatchObject({ total: 31, used: 3, bottles: 14 });
  });

  it("uses the engine's own pools when it reports some, and never counts below zero", () => {
    const pools = [{ base: "10.200.0.0/16", size: 24 }];
    expect(addressRoom(pools, ["10.200.7.0/24", "172.17.0.0/16"])).toMatchObject({
      defaults: false,
      total: 256,
      used: 1,
      bottles: 127,
    });
    const full = addressRoom([{ base: "10.1.0.0/23", size: 24 }], ["10.1.0.0/24", "10.1.1.0/24"]);
    expect(full).toMatchObject({ total: 2, used: 2, bottles: 0 });
  });

  it.each([
    ["a size shorter than the base's prefix", { base: "10.0.0.0/16", size: 8 }],
    ["a size past 32", { base: "10.0.0.0/16", size: 33 }],
    ["a base that is not an IPv4 CIDR", { base: "fd00::/48", size: 64 }],
  ])("a pool with %s holds nothing", (_, pool) => {
    expect(addressRoom([pool], []).total).toBe(0);
  });
});

describe("parseEnginePools", () => {
  it("reads docker info's pools", () => {
    expect(parseEnginePools('[{"Base":"10.200.0.0/16","Size":24}]')).toEqual([
      { base: "10.200.0.0/16", size: 24 },
    ]);
  });

  it.each(["null", "[]", "", "not json", '[{"Base":1}]'])(
    "%j: none of its own, so the defaults apply",
    (text) => {
      expect(parseEnginePools(text)).toBeUndefined();
    },
  );
});

describe("parseCidr", () => {
  it.each(["10.0.0.0", "256.0.0.0/8", "10.0.0.0/33", "10.0.0/8", " ", "::/0"])(
    "%j is not an IPv4 CIDR",
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );

  it("reads the address as an unsigned number", () => {
    expect(parseCidr("255.255.255.255/32")).toEqual({ address: 0xffffffff, prefix: 32 });
  });
});
