// Real bottles for engine tests: start one through the CLI as a user would, keep it
// running, run commands inside its agent container, attach stand-in upstreams to its
// egress network, and remove everything afterwards. On the backend test-backend.ts names:
// under Compose on this engine, on the swarm fixture through the node that runs the bottle.
import { type ChildProcess, execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DockerCli } from "../../../src/backend/engine/docker-client.js";
import { agentEnvCommand, SWARM_SECRETS_DIR } from "../../../src/core/swarm-stack.js";
import { startHttpsStub, writeStubCerts } from "../../../src/demo/demo-stubs.js";
import { PACKAGE_ROOT, type TestHome } from "../cli/cli-process.js";
import type { SwarmNode } from "../swarm/swarm-fixture.js";
import { deploySwarmStandIn, removeSwarmStandIns } from "../swarm/swarm-standins.js";
import type { UpstreamCa } from "../tls/test-ca.js";
import {
  type BottleService,
  dockerOn,
  type EngineContainer,
  ON_SWARM,
  serviceContainer,
  waitForServiceContainer,
} from "./test-backend.js";

const run = promisify(execFile);
const TEST_LABEL = "dev.claude-bottle.test";
/** Which bottle a stand-in serves, so one test file can clean up without touching another's. */
const TEST_BOTTLE_LABEL = "dev.claude-bottle.test.bottle";

export interface ExecResult {
  /** The command's exit code; 124 when it was stopped at its timeout (allowTimeout only). */
  code: number;
  stdout: string;
  stderr: string;
  /** Whether the command was stopped at its timeout (only ever true with allowTimeout). */
  timedOut: boolean;
}

export interface ExecOptions {
  user?: string;
  timeoutMs?: number;
  /**
   * Return partial output when the command runs out of time instead of failing. Only for
   * commands whose timeout is the point (a probe that is meant to hang): a timed-out
   * search has not searched everything.
   */
  allowTimeout?: boolean;
}

export interface RunningBottle {
  slug: string;
  /**
   * The agent's and pipelock's names: what the agent dials (pipelock's is its proxy's host)
   * and, under Compose, their containers' names. For docker commands use `containerOf`.
   */
  agentContainer: string;
  pipelockContainer: string;
  egressNetwork: string;
  internalNetwork: string;
  /** The swarm node that runs the bottle; null under Compose. */
  node: SwarmNode | null;
  /** DOCKER_HOST of the engine that holds the bottle's containers; empty under Compose. */
  engine: NodeJS.ProcessEnv;
  /** The container running `service` on that engine (throws when none runs on the swarm). */
  containerOf(service: BottleService): string;
  /**
   * Runs `sh -c script` in the agent container, as the agent user unless told otherwise.
   * Resolves with the exit code whatever it is; rejects when the command runs out of time
   * (unless `allowTimeout`) or docker itself cannot run it.
   */
  exec(script: string, options?: ExecOptions): Promise<ExecResult>;
  /** pipelock's audit log (its stdout), parsed. */
  pipelockAudit(): Promise<Array<Record<string, unknown>>>;
  stop(): Promise<void>;
}

/** Starts `claude-bottle start <agent> --yes --exec 'sleep …'` and waits until the agent is provisioned. */
export async function startBottle(
  t: TestHome,
  agent: string,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningBottle> {
  const cli: ChildProcess = t.spawn(["start", agent, "--yes", "--exec", "sleep 3600"], env);
  const deadline = Date.now() + 240_000;
  let slug: string | undefined;
  while (Date.now() < deadline) {
    const { stderr } = (cli as ChildProcess & { output: () => { stderr: string } }).output();
    slug ??= /instance\s+(\S+)/.exec(stderr)?.[1];
    if (cli.exitCode !== null) throw new Error(`start exited with ${cli.exitCode}:\n${stderr}`);
    if (slug !== undefined && stderr.includes("running: sleep 3600")) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  if (slug === undefined) throw new Error("the bottle did not start in time");
  const bottleSlug = slug;
  // The agent is never restarted: its container is the same for the bottle's life.
  const agentTask = await waitForServiceContainer(bottleSlug, "agent");
  // On the swarm the agent's forwarded host variables are secret files that the program the
  // CLI runs reads as it starts (agentEnvCommand); commands run here get them the same way.
  const forwarded =
    agentTask.node === null
      ? []
      : dockerOn(agentTask, [
          "exec",
          "-u",
          "0",
          agentTask.container,
          "sh",
          "-c",
          `ls ${SWARM_SECRETS_DIR} 2>/dev/null || true`,
        ])
          .split("\n")
          .filter(Boolean);
  const containerOf = (service: BottleService): string => {
    if (service === "agent") return agentTask.container;
    const found = serviceContainer(bottleSlug, service);
    if (found === null) throw new Error(`bottle ${bottleSlug} has no running ${service}`);
    return found.container;
  };
  return {
    slug: bottleSlug,
    agentContainer: `claude-bottle-agent-${bottleSlug}`,
    pipelockContainer: `claude-bottle-pipelock-${bottleSlug}`,
    egressNetwork: `claude-bottle-${bottleSlug}-egress`,
    internalNetwork: `claude-bottle-${bottleSlug}-internal`,
    node: agentTask.node,
    engine: agentTask.env,
    containerOf,
    async exec(script, options = {}) {
      const timeoutMs = options.timeoutMs ?? 60_000;
      try {
        const { stdout, stderr } = await run(
          "docker",
          [
            "exec",
            "-u",
            options.user ?? "agent",
            agentTask.container,
            ...agentEnvCommand(forwarded, ["sh", "-c", script]),
          ],
          {
            timeout: timeoutMs,
            maxBuffer: 64 * 1024 * 1024,
            env: { ...process.env, ...agentTask.env },
          },
        );
        return { code: 0, stdout, stderr, timedOut: false };
      } catch (error) {
        const e = error as {
          code?: number | string;
          killed?: boolean;
          signal?: string | null;
          stdout?: string;
          stderr?: string;
        };
        const stdout = e.stdout ?? "";
        const stderr = e.stderr ?? "";
        if (e.killed === true && e.signal !== null && e.signal !== undefined) {
          if (options.allowTimeout === true) return { code: 124, stdout, stderr, timedOut: true };
          throw new Error(
            `timed out after ${timeoutMs} ms in the agent container: ${script}\n${stderr}`,
          );
        }
        // A string code is Node's own (docker missing, the output over maxBuffer): no result.
        if (typeof e.code !== "number") throw error;
        return { code: e.code, stdout, stderr, timedOut: false };
      }
    },
    async pipelockAudit() {
      const { stdout } = await run("docker", ["logs", containerOf("pipelock")], {
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...agentTask.env },
      });
      return stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      // `stop` must succeed and its attached CLI must end after it: either failing is the
      // test's failure, with the output that says why (a bottle left running holds its keys).
      await t.runOk(["stop", bottleSlug]);
      const ended = await new Promise<boolean>((resolve) => {
        if (cli.exitCode !== null || cli.signalCode !== null) resolve(true);
        else cli.on("exit", () => resolve(true));
        setTimeout(() => resolve(false), 60_000).unref();
      });
      if (!ended) {
        cli.kill("SIGKILL");
        const { stderr } = (cli as ChildProcess & { output: () => { stderr: string } }).output();
        throw new Error(
          `the CLI attached to ${bottleSlug} did not exit within 60 s of \`stop\`:\n${stderr}`,
        );
      }
    },
  };
}

/** One request the demo's stand-in upstream received (src/demo/stub-upstream-server.mjs). */
export interface FakeUpstreamRequest {
  /** Arrival order, from 1 (a WebSocket's messages share their upgrade's). */
  id: number;
  method: string;
  url: string;
  host: string | null;
  /** Node's merged view: a repeated header is joined or dropped here; see rawHeaders. */
  headers: Record<string, string>;
  /** The headers as sent, name and value alternating, a repeated header twice. */
  rawHeaders: string[];
  /**
   * false for a body that broke off part-way (body holds what came) or was still arriving
   * when read (recorded at its head, body empty): either way the upstream received it.
   */
  complete: boolean;
  bodyLength: number;
  bodySha256: string;
  /** base64 of the body, whole up to 16 MiB (absent for WebSocket records). */
  body?: string;
  tls: boolean;
  /** Chunked-body trailers (absent for WebSocket records). */
  trailers?: Record<string, string>;
}

export interface FakeUpstream extends Omit<EngineContainer, "node"> {
  /** Requests the upstream received, in order, headers included, finished or not. */
  requests(): Promise<FakeUpstreamRequest[]>;
  /** The answers it sent, in the order they were complete: the bytes of each body. */
  responses(): Promise<
    Array<{ method: string; url: string; host: string | null; bodyLength: number }>
  >;
  remove(): Promise<void>;
}

/** Runs the stand-in upstream on the bottle's egress network under the given hostnames. */
export async function startFakeUpstream(
  bottle: RunningBottle,
  upstreamCa: UpstreamCa,
  hostnames: string[],
): Promise<FakeUpstream> {
  const dir = await mkdtemp(join(tmpdir(), "cb-upstream-"));
  const name = `cbtest-upstream-${bottle.slug}-${Math.random().toString(16).slice(2, 6)}`;
  const labels = { [TEST_LABEL]: "1", [TEST_BOTTLE_LABEL]: bottle.slug };
  const serverScript = join(PACKAGE_ROOT, "dist/demo/stub-upstream-server.mjs");
  const certsFile = await writeStubCerts(dir, upstreamCa.ca, hostnames, new Date());
  let container = name;
  let env: NodeJS.ProcessEnv = {};
  if (bottle.node === null) {
    // The demo's stand-in, under the test's labels so cleanup can find it per bottle.
    await startHttpsStub(new DockerCli(), {
      name,
      network: bottle.egressNetwork,
      hostnames,
      serverScript,
      certsFile,
      labels,
    });
  } else {
    const standIn = await deploySwarmStandIn({
      node: bottle.node,
      egressNetwork: bottle.egressNetwork,
      hostnames,
      files: { "/srv/server.mjs": serverScript, "/srv/certs.json": certsFile },
      labels,
      readyPort: 443,
    });
    container = standIn.container;
    env = standIn.env;
  }
  const records = async (file: string) => {
    const { stdout } = await run(
      "docker",
      ["exec", container, "sh", "-c", `cat ${file} 2>/dev/null || true`],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };
  return {
    container,
    env,
    async requests() {
      // Arrivals first: a request that ends between the two reads is then found in both.
      const heads = (await records("/tmp/arrivals.jsonl")) as FakeUpstreamRequest[];
      const ended = (await records("/tmp/requests.jsonl")) as FakeUpstreamRequest[];
      const seen = new Set(ended.map((r) => r.id));
      const open = heads
        .filter((h) => !seen.has(h.id))
        .map((h) => ({ ...h, complete: false, bodyLength: 0, bodySha256: "" }));
      return [...ended, ...open];
    },
    responses: () => records("/tmp/responses.jsonl"),
    async remove() {
      if (bottle.node === null)
        execFileSync("docker", ["rm", "-f", container], { stdio: "ignore" });
      else await removeSwarmStandIns(`${TEST_BOTTLE_LABEL}=${bottle.slug}`);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes every stand-in container a test run left, whatever happened; with `bottle`, only the
 * stand-ins of that bottle (engine tests of other files may be running on the same engine).
 */
export function removeTestContainers(bottle?: Pick<RunningBottle, "slug">): void {
  const label = bottle === undefined ? TEST_LABEL : `${TEST_BOTTLE_LABEL}=${bottle.slug}`;
  const ids = execFileSync("docker", ["ps", "-aq", "--filter", `label=${label}`], {
    encoding: "utf8",
  })
    .split("\n")
    .filter(Boolean);
  if (ids.length > 0) execFileSync("docker", ["rm", "-f", ...ids], { stdio: "ignore" });
}

/** `removeTestContainers(bottle)` on the test backend: on the swarm, the bottle's stand-in stacks. */
export async function removeBottleStandIns(bottle: Pick<RunningBottle, "slug">): Promise<void> {
  if (ON_SWARM) await removeSwarmStandIns(`${TEST_BOTTLE_LABEL}=${bottle.slug}`);
  else removeTestContainers(bottle);
}

export interface FileSearch {
  /** Where to look (`/` skips /proc, /sys and /dev); one planted file lands in the first. */
  roots?: string[];
  user?: string;
  timeoutMs?: number;
}

/**
 * The files under `roots` that hold any of `needles`, as `user` sees them. The same grep
 * first has to find a value planted for it (a file under the first root that only the search
 * knows), so an empty answer means the search ran to the end and could read, never that it
 * timed out, failed or looked nowhere. The planted file is removed and not in the answer.
 */
export async function searchAgentFiles(
  bottle: Pick<RunningBottle, "exec">,
  needles: string[],
  options: FileSearch = {},
): Promise<string[]> {
  const roots = options.roots ?? ["/"];
  const user = options.user ?? "agent";
  const canary = `cbtest-planted-${Math.random().toString(36).slice(2, 14)}`;
  const base = roots[0] === "/" || roots.includes("/tmp") ? "/tmp" : roots[0];
  const planted = `${base}/.${canary}`;
  for (const n of needles) {
    if (n.length < 8 || n.includes("'")) throw new Error(`searchAgentFiles: unusable needle ${n}`);
  }
  const patterns = [canary, ...needles].map((n) => `-e '${n}'`).join(" ");
  const skip = "--exclude-dir=proc --exclude-dir=sys --exclude-dir=dev";
  // The planted value is written in two pieces so the script's own text never holds it.
  const half = Math.floor(canary.length / 2);
  const r = await bottle.exec(
    `printf '%s%s\n' '${canary.slice(0, half)}' '${canary.slice(half)}' > '${planted}' && ` +
      `grep -rlsF ${patterns} ${roots.join(" ")} ${skip}; rc=$?; rm -f '${planted}'; exit $rc`,
    { user, timeoutMs: options.timeoutMs ?? 180_000 },
  );
  // grep exits 0 when it selected a line, 2 when some file could not be read as well.
  if (r.code !== 0 && r.code !== 2) {
    throw new Error(`the search under ${roots.join(" ")} failed (exit ${r.code}): ${r.stderr}`);
  }
  const files = r.stdout.split("\n").filter(Boolean);
  if (!files.includes(planted)) {
    throw new Error(`the search under ${roots.join(" ")} did not find its planted file ${planted}`);
  }
  return files.filter((f) => f !== planted);
}

/** Copies a host file into the agent container, readable by the agent user. */
export function copyIntoAgent(
  bottle: RunningBottle,
  hostPath: string,
  containerPath: string,
): void {
  const agent = bottle.containerOf("agent");
  dockerOn({ env: bottle.engine }, ["cp", hostPath, `${agent}:${containerPath}`]);
  dockerOn({ env: bottle.engine }, ["exec", "-u", "0", agent, "chmod", "a+r", containerPath]);
}
