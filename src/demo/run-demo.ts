// `claude-bottle demo`: a real bottle from built-in manifests against local stand-ins for
// the outside world, put through its paces step by step. Everything it creates lives in a
// temporary home and in containers it removes at the end, whatever happens; nothing
// touches the user's ~/.claude-bottle or a real host.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { StartedBottle } from "../backend/backend.js";
import { backendNamed } from "../backend/backends.js";
import { checkEngine } from "../backend/engine/docker-client.js";
import { chooseBaseImage, ensureImages, NODE_IMAGE } from "../backend/engine/images.js";
import { type LaunchContext, planStart } from "../backend/start-plan.js";
import { gitGateContainerName } from "../contracts/git-gate.js";
import { pipelockContainerName } from "../contracts/pipelock.js";
import { loadAgent } from "../manifest/index.js";
import { BottleError } from "../shared/errors.js";
import {
  claudeCodeCache,
  realClaudeCode,
  skippedClaudeCode,
  startClaudeStandIn,
} from "./demo-claude.js";
import { DEMO_AGENT, DEMO_HOSTS, DEMO_TOKEN_ENV, demoBottle } from "./demo-manifests.js";
import { waitForNames } from "./demo-names.js";
import {
  allowlistedCall,
  type DemoRig,
  type DemoStepResult,
  dlpBlocksCredential,
  gitPushes,
  routeInjectsToken,
  unlistedHost,
} from "./demo-steps.js";
import {
  DEMO_GIT_IMAGE,
  makeDemoCa,
  removeDemoStubs,
  startGitStub,
  startHttpsStub,
} from "./demo-stubs.js";
import { superviseApproval } from "./demo-supervise.js";

const run = promisify(execFile);

export interface DemoOptions {
  launch: LaunchContext;
  /** Where the demo's stand-in server script is (shipped beside this module once built). */
  stubServerScript: string;
  /** Prints a step as it completes. */
  onStep: (step: DemoStepResult) => void;
}

export async function runDemo(options: DemoOptions): Promise<DemoStepResult[]> {
  const { launch } = options;
  const docker = launch.docker;
  await checkEngine(docker);
  const work = await mkdtemp(join(tmpdir(), "claude-bottle-demo-"));
  const token = `demo-${randomBytes(12).toString("hex")}`;
  const suffix = randomBytes(3).toString("hex");
  let bottle: StartedBottle | undefined;
  try {
    launch.progress(
      "looking for Claude Code in the agent cache (fetched once with npm when missing)…",
    );
    const claude = await claudeCodeCache(launch);
    launch.progress("building the stand-in images (cached after the first run)…");
    await buildStandInImages(launch);
    launch.progress("starting the stand-in git host and minting the demo's keys…");
    const upstreams = await startUpstreams(launch, work, suffix);
    const demoLaunch = await demoHome(launch, work, upstreams, {
      [DEMO_TOKEN_ENV]: token,
      // The user's agent cache, so the bottle mounts the Claude Code found or fetched above.
      ...(claude.cache === null ? {} : { CLAUDE_BOTTLE_AGENT_CACHE: claude.cache }),
    });
    const agent = await loadAgent("demo", { home: demoLaunch.home, env: demoLaunch.env });
    const plan = await planStart(agent, demoLaunch);
    bottle = await backendNamed("compose", demoLaunch).up(plan);
    const egressNetwork = plan.blueprint.plan.proxyPlan.egressNetwork;
    const { httpsStub, claudeStandIn } = await joinStandIns(options, bottle.slug, {
      egressNetwork,
      upstreams,
      suffix,
      work,
      withClaude: claude.cache !== null,
    });
    const rig: DemoRig = {
      docker,
      agentContainer: plan.blueprint.plan.containerName,
      httpsStub,
      gitStub: upstreams.gitStub,
      token,
    };
    launch.progress("running the steps inside the agent…");
    const results: DemoStepResult[] = [];
    const record = (step: DemoStepResult) => {
      results.push(step);
      options.onStep(step);
    };
    record(await allowlistedCall(rig));
    record(await unlistedHost(rig));
    record(await dlpBlocksCredential(rig));
    record(await routeInjectsToken(rig));
    for (const step of await gitPushes(rig)) record(step);
    record(
      await superviseApproval(rig, {
        home: demoLaunch.home,
        slug: bottle.slug,
        launch: demoLaunch,
      }),
    );
    record(
      claudeStandIn === null
        ? skippedClaudeCode(claude.skipped ?? "")
        : await realClaudeCode(rig, claudeStandIn, launch.progress),
    );
    return results;
  } catch (error) {
    if (error instanceof BottleError) throw error;
    throw new BottleError(
      `the demo could not run: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  } finally {
    launch.progress("removing the demo bottle and its stand-ins…");
    // Stand-ins first: Compose cannot remove the egress network while they are attached to it.
    await removeDemoStubs(docker);
    await bottle?.down();
    await rm(work, { recursive: true, force: true });
  }
}

/** The node image the bottle's sidecars run on, and the stand-in git host's. */
async function buildStandInImages(launch: LaunchContext): Promise<void> {
  const base = await chooseBaseImage(launch.docker, launch.env);
  await ensureImages({ ...launch }, [
    {
      tag: NODE_IMAGE,
      dockerfile: join(launch.buildContext, "images/node.Dockerfile"),
      context: launch.buildContext,
      args: { BASE: base },
    },
    {
      tag: DEMO_GIT_IMAGE,
      dockerfile: join(launch.buildContext, "images/sshd-upstream.Dockerfile"),
      context: launch.buildContext,
      args: { BASE: base },
    },
  ]);
}

interface DemoUpstreams {
  /** The git gate's key, which the stand-in git host authorises. */
  identityFile: string;
  gitStub: string;
  gitHostKey: string;
  ca: Awaited<ReturnType<typeof makeDemoCa>>;
}

/** The stand-in git host (with a fresh deploy key) and the CA of the stand-in HTTPS hosts. */
async function startUpstreams(
  launch: LaunchContext,
  work: string,
  suffix: string,
): Promise<DemoUpstreams> {
  const keys = join(work, "keys");
  await mkdir(keys, { recursive: true, mode: 0o700 });
  const identityFile = join(keys, "gate_ed25519");
  await run("ssh-keygen", [
    "-q",
    "-t",
    "ed25519",
    "-N",
    "",
    "-C",
    "claude-bottle-demo",
    "-f",
    identityFile,
  ]);
  const gitStub = `claude-bottle-demo-git-${suffix}`;
  const gitHostKey = await startGitStub(launch.docker, {
    name: gitStub,
    authorizedKey: (await readFile(`${identityFile}.pub`, "utf8")).trim(),
  });
  const ca = await makeDemoCa(
    join(work, "upstream"),
    [DEMO_HOSTS.model, DEMO_HOSTS.docs, DEMO_HOSTS.unlisted, DEMO_HOSTS.later],
    launch.now(),
  );
  return { identityFile, gitStub, gitHostKey, ca };
}

/** A claude-bottle home in `work` with the demo's manifests, and the launch that uses it. */
async function demoHome(
  launch: LaunchContext,
  work: string,
  upstreams: DemoUpstreams,
  extraEnv: NodeJS.ProcessEnv,
): Promise<LaunchContext & { home: string }> {
  const home = join(work, "home");
  await mkdir(join(home, "bottles"), { recursive: true, mode: 0o700 });
  await mkdir(join(home, "agents"), { recursive: true, mode: 0o700 });
  const { identityFile, gitHostKey } = upstreams;
  await writeFile(join(home, "bottles", "demo.md"), demoBottle({ identityFile, gitHostKey }));
  await writeFile(join(home, "agents", "demo.md"), DEMO_AGENT);
  const env = {
    ...launch.env,
    HOME: work,
    CLAUDE_BOTTLE_HOME: home,
    CLAUDE_BOTTLE_UPSTREAM_CA: upstreams.ca.caFile,
    // The stand-ins are containers on a private Docker network.
    CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS: "1",
    ...extraEnv,
  };
  return { ...launch, env, home, userHome: work };
}

/**
 * The stand-ins join the bottle's egress network (the only side its sidecars reach out on),
 * and the sidecars must find them by name before a step asks them to.
 */
async function joinStandIns(
  options: DemoOptions,
  slug: string,
  where: {
    egressNetwork: string;
    upstreams: DemoUpstreams;
    suffix: string;
    work: string;
    withClaude: boolean;
  },
) {
  const { launch } = options;
  const { docker } = launch;
  const { egressNetwork, upstreams, suffix } = where;
  await docker.run([
    "network",
    "connect",
    "--alias",
    DEMO_HOSTS.git,
    egressNetwork,
    upstreams.gitStub,
  ]);
  const httpsStub = await startHttpsStub(docker, {
    name: `claude-bottle-demo-https-${suffix}`,
    network: egressNetwork,
    hostnames: [DEMO_HOSTS.model, DEMO_HOSTS.docs, DEMO_HOSTS.unlisted, DEMO_HOSTS.later],
    serverScript: options.stubServerScript,
    certsFile: upstreams.ca.certsFile,
  });
  const claudeStandIn = where.withClaude
    ? await startClaudeStandIn(launch, {
        dir: join(where.work, "claude-standin"),
        ca: upstreams.ca.ca,
        network: egressNetwork,
        name: `claude-bottle-demo-claude-${suffix}`,
      })
    : null;
  launch.progress("waiting until the bottle's sidecars resolve the stand-ins' names…");
  await waitForNames(docker, pipelockContainerName(slug), [
    DEMO_HOSTS.model,
    DEMO_HOSTS.docs,
    DEMO_HOSTS.unlisted,
    DEMO_HOSTS.later,
    ...(claudeStandIn === null ? [] : [DEMO_HOSTS.claude]),
  ]);
  await waitForNames(docker, gitGateContainerName(slug), [DEMO_HOSTS.git]);
  return { httpsStub, claudeStandIn };
}
