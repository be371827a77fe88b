// What the bench reads off running bottles: memory per container (`docker stats`), the
// host's own share (the start CLIs and their children, MemAvailable), and isolation: from
// inside one bottle's agent, TCP to another bottle's containers by name and by address,
// with the bottle's own sidecars as the positive control.
import { readdirSync, readFileSync } from "node:fs";
import { addressesOf, docker, memoryOf } from "./engines.mjs";

const SIDECARS = ["pipelock", "egress", "supervise", "git-gate"];
const PORTS = { pipelock: 8888, egress: 8080, supervise: 8765, "git-gate": 9418, agent: 9 };

/** Per bottle: { slug, sidecarBytes, agentBytes, roles: { role: bytes } }. */
export async function memoryPerBottle(containers) {
  const usage = await memoryOf(containers);
  const bySlug = new Map();
  for (const c of containers) {
    const b = bySlug.get(c.slug) ?? { slug: c.slug, sidecarBytes: 0, agentBytes: 0, roles: {} };
    const bytes = usage.get(c.id) ?? Number.NaN;
    b.roles[c.role] = bytes;
    if (c.role === "agent") b.agentBytes += bytes;
    else if (SIDECARS.includes(c.role)) b.sidecarBytes += bytes;
    bySlug.set(c.slug, b);
  }
  return [...bySlug.values()];
}

/** MemAvailable from /proc/meminfo, in bytes. */
export function memAvailable() {
  const m = /MemAvailable:\s+(\d+) kB/.exec(readFileSync("/proc/meminfo", "utf8"));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** Resident memory of each pid with all its descendants (the CLI and its `docker exec`). */
export function treeRss(pids) {
  const parent = new Map();
  const rss = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      parent.set(Number(entry), Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0));
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024);
    } catch {
      // The process ended while we read.
    }
  }
  return pids.map((root) => {
    let total = 0;
    let processes = 0;
    for (const [pid, bytes] of rss) {
      for (let p = pid; p > 1; p = parent.get(p) ?? 0) {
        if (p === root) {
          total += bytes;
          processes += 1;
          break;
        }
      }
    }
    return { pid: root, bytes: total, processes };
  });
}

// bash's /dev/tcp, so only bash and coreutils are needed; the first error's words are kept
// (the resolver's for a name, the kernel's for an address).
const PROBE = `probe() {
  if out=$(timeout 3 bash -c "exec 3<>/dev/tcp/$2/$3" 2>&1); then echo "$1 connected"
  else echo "$1 $(printf '%s' "$out" | head -n1 | sed 's/.*: //')"; fi
}`;

/** "connected" or a refusal means a packet got through: a way in, whatever listens. */
export const reached = (outcome) => outcome === "connected" || /refused/i.test(outcome);

/**
 * From inside `a`'s agent: its own pipelock, egress and supervise by name (each must
 * connect), and every container of `b` by its name and by each of its addresses (none may
 * get through). Returns { own: [{target, outcome}], other: [...] }.
 */
export async function probePair(a, b) {
  const agent = a.containers.find((c) => c.role === "agent");
  const own = [
    [`own pipelock ${a.slug}`, `claude-bottle-pipelock-${a.slug}`, PORTS.pipelock],
    ["own egress", "egress", PORTS.egress],
    ["own supervise", "supervise", PORTS.supervise],
  ];
  const other = [];
  for (const c of b.containers) {
    const port = PORTS[c.role] ?? 9;
    other.push([`${c.role} of ${b.slug} by name`, `claude-bottle-${c.role}-${b.slug}`, port]);
    for (const { network, ip } of await addressesOf(c)) {
      other.push([`${c.role} of ${b.slug} at ${ip} (${network})`, ip, port]);
    }
  }
  const script = [
    PROBE,
    ...[...own, ...other].map(([, host, port], i) => `probe ${i} ${host} ${port}`),
  ].join("\n");
  const r = await docker(agent.engine, ["exec", "-u", "agent", agent.id, "bash", "-c", script], {
    timeoutMs: 5_000 * (own.length + other.length) + 20_000,
  });
  const outcome = new Map();
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [i = "", ...rest] = line.split(" ");
    outcome.set(Number(i), rest.join(" ").trim() || "timed out");
  }
  const result = ([label], i) => ({ target: label, outcome: outcome.get(i) ?? "no answer" });
  return {
    execCode: r.code,
    own: own.map((t, i) => result(t, i)),
    other: other.map((t, i) => result(t, i + own.length)),
  };
}

/** Runs `task` over `items` with at most `limit` at a time, keeping the order. */
export async function inBatches(items, limit, task) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await task(items[i], i);
      }
    }),
  );
  return out;
}
