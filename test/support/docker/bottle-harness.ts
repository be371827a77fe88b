// Real bottles for engine tests: start one through the CLI as a user would, keep it
// running, run commands inside its agent container, attach stand-in upstreams to its
// egress network, and remove everything afterwards.
import { type ChildProcess, execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DockerCli } from "../../../src/backend/docker/docker-client.js";
import { startHttpsStub, writeStubCerts } from "../../../src/demo/demo-stubs.js";
import { PACKAGE_ROOT, type TestHome } from "../cli/cli-process.js";
import type { UpstreamCa } from "../tls/test-ca.js";

const run = promisify(execFile);
const TEST_LABEL = "dev.claude-bottle.test";
/** Which bottle a stand-in serves, so one test file can clean up without touching another's. */
const TEST_BOTTLE_LABEL = "dev.claude-bottle.test.bottle";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunningBottle {
  slug: string;
  agentContainer: string;
  pipelockContainer: string;
  egressNetwork: string;
  internalNetwork: string;
  /** Runs `sh -c script` in the agent container, as the agent user unless told otherwise. */
  exec(script: string, options?: { user?: string; timeoutMs?: number }): Promise<ExecResult>;
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
  const agentContainer = `claude-bottle-agent-${bottleSlug}`;
  return {
    slug: bottleSlug,
    agentContainer,
    pipelockContainer: `claude-bottle-pipelock-${bottleSlug}`,
    egressNetwork: `claude-bottle-${bottleSlug}-egress`,
    internalNetwork: `claude-bottle-${bottleSlug}-internal`,
    async exec(script, options = {}) {
      try {
        const { stdout, stderr } = await run(
          "docker",
          ["exec", "-u", options.user ?? "agent", agentContainer, "sh", "-c", script],
          { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
        );
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === "number" ? e.code : 1,
          stdout: e.stdout ?? "",
          stderr: e.stderr ?? "",
        };
      }
    },
    async pipelockAudit() {
      const { stdout } = await run("docker", ["logs", `claude-bottle-pipelock-${bottleSlug}`], {
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async stop() {
      await t.run(["stop", bottleSlug]);
      await new Promise<void>((resolve) => {
        if (cli.exitCode !== null || cli.signalCode !== null) resolve();
        else cli.on("exit", () => resolve());
        setTimeout(() => {
          cli.kill("SIGKILL");
          resolve();
        }, 30_000).unref();
      });
    },
  };
}

export interface FakeUpstream {
  container: string;
  /** Requests the upstream received, in order, headers included. */
  requests(): Promise<
    Array<{
      method: string;
      url: string;
      host: string | null;
      headers: Record<string, string>;
      bodyLength: number;
      bodySha256: string;
      tls: boolean;
      /** Chunked-body trailers (absent for WebSocket records). */
      trailers?: Record<string, string>;
    }>
  >;
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
  const container = `cbtest-upstream-${bottle.slug}-${Math.random().toString(16).slice(2, 6)}`;
  // The demo's stand-in, under the test's labels so cleanup can find it per bottle.
  await startHttpsStub(new DockerCli(), {
    name: container,
    network: bottle.egressNetwork,
    hostnames,
    serverScript: join(PACKAGE_ROOT, "src/demo/stub-upstream-server.mjs"),
    certsFile: await writeStubCerts(dir, upstreamCa.ca, hostnames, new Date()),
    labels: { [TEST_LABEL]: "1", [TEST_BOTTLE_LABEL]: bottle.slug },
  });
  const records = async (file: string) => {
    const { stdout } = await run("docker", [
      "exec",
      container,
      "sh",
      "-c",
      `cat ${file} 2>/dev/null || true`,
    ]);
    return stdout
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  };
  return {
    container,
    requests: () => records("/tmp/requests.jsonl"),
    responses: () => records("/tmp/responses.jsonl"),
    async remove() {
      execFileSync("docker", ["rm", "-f", container], { stdio: "ignore" });
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

/** Copies a host file into the agent container, readable by the agent user. */
export function copyIntoAgent(
  bottle: RunningBottle,
  hostPath: string,
  containerPath: string,
): void {
  execFileSync("docker", ["cp", hostPath, `${bottle.agentContainer}:${containerPath}`]);
  execFileSync("docker", ["exec", "-u", "0", bottle.agentContainer, "chmod", "a+r", containerPath]);
}
