// The docker CLI against one engine or several: the host's for Compose bottles, each node's
// (by DOCKER_HOST) for swarm bottles. A bottle's containers are found by the label every
// backend puts on them, and each is given its role (agent, pipelock, egress, supervise,
// git-gate) from Compose's or Swarm's own service label.
import { spawn } from "node:child_process";

const SLUG_LABEL = "dev.claude-bottle.slug";
const HOME_LABEL = "dev.claude-bottle.home";

/** `docker <args>` on `engine` ({ name, dockerHost | null }); resolves, never throws. */
export function docker(engine, args, { input = "", timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const env = { ...process.env };
    if (engine.dockerHost) env.DOCKER_HOST = engine.dockerHost;
    const child = spawn("docker", args, { env, timeout: timeoutMs });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c) => {
      stdout += c;
    });
    child.stderr.setEncoding("utf8").on("data", (c) => {
      stderr += c;
    });
    child.on("error", (e) => resolve({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

const lines = (text) => text.split("\n").filter((l) => l.trim() !== "");

/**
 * Every running container of the bottles of `home` on every engine:
 * { engine, id, name, slug, role }. `all` lists stopped ones too (for the leftover check).
 */
export async function bottleContainers(engines, home, { all = false } = {}) {
  const format = `{{.ID}}\t{{.Names}}\t{{.Label "${SLUG_LABEL}"}}\t{{.Label "com.docker.compose.service"}}\t{{.Label "com.docker.swarm.service.name"}}`;
  const found = [];
  for (const engine of engines) {
    const r = await docker(engine, [
      "ps",
      ...(all ? ["-a"] : []),
      "--no-trunc",
      "--filter",
      `label=${HOME_LABEL}=${home}`,
      "--format",
      format,
    ]);
    for (const l of lines(r.stdout)) {
      const [id = "", name = "", slug = "", composeService = "", swarmService = ""] = l.split("\t");
      // A swarm service is `<project>_<service>`.
      const role = composeService || swarmService.slice(swarmService.lastIndexOf("_") + 1);
      found.push({ engine, id, name, slug, role });
    }
  }
  return found;
}

/** Networks of the bottles of `home` on any engine. */
export async function bottleNetworks(engines, home) {
  const left = [];
  for (const engine of engines) {
    const r = await docker(engine, [
      "network",
      "ls",
      "--filter",
      `label=${HOME_LABEL}=${home}`,
      "--format",
      "{{.Name}}",
    ]);
    left.push(...lines(r.stdout).map((name) => `${engine.name}: ${name}`));
  }
  return left;
}

const UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, kB: 1e3, MB: 1e6, GB: 1e9 };

/** "45.2MiB / 23.4GiB" → bytes of the first figure. */
export function parseMemUsage(text) {
  const m = /^([\d.]+)\s*([A-Za-z]+)/.exec(text.trim());
  if (!m) return Number.NaN;
  return Number(m[1]) * (UNITS[m[2]] ?? Number.NaN);
}

/**
 * `docker stats --no-stream` of the containers, per engine: Map id → bytes of memory in use
 * (as docker reports it: the cgroup's usage without its inactive page cache).
 */
export async function memoryOf(containers) {
  const byEngine = new Map();
  for (const c of containers) {
    const list = byEngine.get(c.engine) ?? [];
    list.push(c.id);
    byEngine.set(c.engine, list);
  }
  const usage = new Map();
  for (const [engine, ids] of byEngine) {
    const r = await docker(
      engine,
      ["stats", "--no-stream", "--no-trunc", "--format", "{{.ID}}\t{{.MemUsage}}", ...ids],
      { timeoutMs: 300_000 },
    );
    for (const l of lines(r.stdout)) {
      const [id = "", mem = ""] = l.split("\t");
      usage.set(id, parseMemUsage(mem));
    }
  }
  return usage;
}

/** The container's address on each of its networks. */
export async function addressesOf(container) {
  const r = await docker(container.engine, [
    "inspect",
    "-f",
    "{{range $n, $c := .NetworkSettings.Networks}}{{$n}}={{$c.IPAddress}} {{end}}",
    container.id,
  ]);
  return r.stdout
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const [network = "", ip = ""] = pair.split("=");
      return { network, ip };
    })
    .filter((a) => a.ip !== "");
}
