// How many more bottles the engine has network addresses for. Each bottle's networks take a
// subnet from the engine's default address pools; a stock engine's pools hold 31 networks,
// the default bridge and every other project's included, and when they run out a start fails
// with "could not find an available, non-overlapping IPv4 address pool". `doctor` says how
// much room is left before that happens, and how to make more.
import { NETWORK_NAMES } from "../../core/compose.js";
import type { DockerClient } from "./docker-client.js";

export interface AddressPool {
  /** An IPv4 CIDR the subnets are cut from. */
  base: string;
  /** The prefix length of each subnet cut from it. */
  size: number;
}

/**
 * The engine's pools when daemon.json sets no default-address-pools (and `docker info` shows
 * none): 172.17.0.0/16 to 172.31.0.0/16 as 15 networks of /16, and 192.168.0.0/16 as 16 of
 * /20.
 */
export const ENGINE_DEFAULT_POOLS: readonly AddressPool[] = [
  { base: "172.17.0.0/16", size: 16 },
  { base: "172.18.0.0/16", size: 16 },
  { base: "172.19.0.0/16", size: 16 },
  { base: "172.20.0.0/14", size: 16 },
  { base: "172.24.0.0/14", size: 16 },
  { base: "172.28.0.0/14", size: 16 },
  { base: "192.168.0.0/16", size: 20 },
];

/** Each bottle on Compose has these networks, each a subnet of the pools. */
export const NETWORKS_PER_BOTTLE = NETWORK_NAMES.length;

/** The daemon.json setting doctor and the start's error suggest: 256 networks of /24. */
export const WIDER_POOL_EXAMPLE =
  '{"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}]}';

/** How to make room, as doctor and the start's error say it. */
export const MAKE_ROOM =
  "remove bottles left behind with `claude-bottle cleanup`, or widen the pools: put " +
  `${WIDER_POOL_EXAMPLE} in /etc/docker/daemon.json, with a base your LAN and VPN do not use, ` +
  "and restart the engine";

export interface AddressRoom {
  /** True when the engine reported no pools of its own, so the defaults apply. */
  defaults: boolean;
  /** Subnets the pools hold in all. */
  total: number;
  /** Subnets of the pools that networks on the engine hold now. */
  used: number;
  /** How many more bottles the free subnets make room for. */
  bottles: number;
}

/**
 * The room left, from the pools and the IPv4 subnets of the engine's networks. A subnet counts
 * as used in each pool it lies within; subnets outside every pool (set by hand) take nothing.
 */
export function addressRoom(
  pools: readonly AddressPool[] | undefined,
  subnets: readonly string[],
): AddressRoom {
  const defaults = pools === undefined || pools.length === 0;
  const inForce = defaults ? ENGINE_DEFAULT_POOLS : pools;
  const ranges = inForce.map((pool) => ({ pool, range: parseCidr(pool.base) }));
  let total = 0;
  for (const { pool, range } of ranges) {
    if (range !== undefined && pool.size >= range.prefix && pool.size <= 32) {
      total += 2 ** (pool.size - range.prefix);
    }
  }
  let used = 0;
  for (const subnet of subnets) {
    const net = parseCidr(subnet);
    if (net === undefined) continue;
    if (ranges.some(({ range }) => range !== undefined && contains(range, net))) used++;
  }
  const free = Math.max(0, total - used);
  return {
    defaults,
    total,
    used,
    bottles: Math.floor(free / NETWORKS_PER_BOTTLE),
  };
}

interface Cidr {
  /** The address as an unsigned 32-bit number. */
  address: number;
  prefix: number;
}

/** An IPv4 CIDR, or undefined for anything else (IPv6 subnets are not cut from these pools). */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (match === null) return undefined;
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  return { address, prefix };
}

function contains(outer: Cidr, inner: Cidr): boolean {
  if (inner.prefix < outer.prefix) return false;
  const span = 2 ** (32 - outer.prefix);
  return Math.floor(inner.address / span) === Math.floor(outer.address / span);
}

/** The pools `docker info` reports: undefined when it reports none, so the defaults apply. */
export function parseEnginePools(json: string): AddressPool[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) return undefined;
  const pools: AddressPool[] = [];
  for (const entry of value) {
    const base = (entry as { Base?: unknown })?.Base;
    const size = (entry as { Size?: unknown })?.Size;
    if (typeof base === "string" && typeof size === "number") pools.push({ base, size });
  }
  return pools.length === 0 ? undefined : pools;
}

/** Asks the engine for its pools and its networks' subnets. */
export async function readAddressRoom(docker: DockerClient): Promise<AddressRoom> {
  const info = await docker.run(["info", "--format", "{{json .DefaultAddressPools}}"]);
  const ids = await docker.run(["network", "ls", "--quiet"]);
  const subnets: string[] = [];
  const list = ids.stdout.split("\n").filter((id) => id.trim() !== "");
  if (list.length > 0) {
    // A network removed since the listing fails its inspect; the others still print.
    const inspected = await docker.run(
      ["network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", ...list],
      { allowFailure: true },
    );
    for (const word of inspected.stdout.split(/\s+/)) if (word !== "") subnets.push(word);
  }
  return addressRoom(parseEnginePools(info.stdout.trim()), subnets);
}
