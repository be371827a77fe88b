// The lifecycle of one bottle: plan it, stage its files, build its images, bring it up,
// provision the agent, attach the agent program, and tear everything down when the
// program exits or anything fails. A failure after `up` brings the project down and
// reports the first error; nothing of the bottle is left running.
import { existsSync } from "node:fs";
import { access, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, isAbsolute, join } from "node:path";
import { ensureAgentPackage, findAgentPackage } from "../../agents/agent-package.js";
import { AGENT_LAUNCHER } from "../../agents/agent-provider.js";
import type { NpmClient } from "../../agents/npm-client.js";
import { composeProjectName } from "../../contracts/agent.js";
import { GIT_GATE_SECRET_RULES_ENV } from "../../contracts/git-gate.js";
import { agentPackagePlan, type BottleBlueprint, planBottle } from "../../core/bottle-blueprint.js";
import { hasGitGate } from "../../core/bottle-mounts.js";
import { superviseMcpOf } from "../../core/compose.js";
import { MAX_ENV_VALUE_BYTES } from "../../manifest/manifest-limits.js";
import { hostCommands, resolveRegistries } from "../../manifest/registry-endpoints.js";
import type { ResolvedAgent } from "../../manifest/resolved-bottle.js";
import { BottleError, InputError } from "../../shared/errors.js";
import { renderAgentGitConfig } from "../../sidecars/git-gate/agent-gitconfig.js";
import { renderSecretRules } from "../../sidecars/git-gate/secret-rules.js";
import type { Backend, UpOptions } from "../backend.js";
import { endBottle, type StopBudget, stopBudgetOf } from "../end-bottle.js";
import {
  type BottleMetadata,
  readMetadata,
  updateMetadata,
  writeMetadata,
} from "./bottle-state.js";
import { type RemovalBounds, removeBottle } from "./discover-bottles.js";
import type { DockerClient } from "./docker-client.js";
import { chooseBaseImage, ensureImages, type ImageOptions, imagesForPlan } from "./images.js";
import { type KeptWork, keptDirOf } from "./kept-work.js";
import { type PreparedBottle, prepareBottle } from "./prepare-bottle.js";
import { AGENT_HOME, AGENT_USER, type AgentProvision, provisionAgent } from "./provision-agent.js";
import { probeRunsc, type RunscVerdict } from "./runsc-probe.js";
import { spawnStartGuard } from "./start-guard.js";
import { seedWorkspace, type Workspace } from "./workspace.js";

export interface LaunchContext {
  docker: DockerClient;
  /** The claude-bottle home (~/.claude-bottle). */
  home: string;
  /** The user's home, where named skills live (~/.claude/skills/<name>). */
  userHome: string;
  /** Package root: images/ and dist/sidecars/. */
  buildContext: string;
  env: NodeJS.ProcessEnv;
  now: () => Date;
  /** Random hex for the slug. */
  suffix: () => string;
  progress: (line: string) => void;
  /** The host's npm, which fetches agent programs; default the npm on PATH. */
  npm?: NpmClient;
}

export interface StartPlan {
  blueprint: BottleBlueprint;
  runtime: RunscVerdict;
  /** Compose's environment: secret values by name. Never printed, never written. */
  composeEnv: Record<string, string>;
  /** Host variables the bottle reads that are not set (only a dry run gets this far). */
  missingEnv: string[];
  skills: Array<{ name: string; hostDir: string }>;
}

/**
 * Everything decided before anything is written or started. Fails on missing host
 * variables unless `dryRun`, which lists them instead and never calls Docker.
 */
export async function planStart(
  agent: ResolvedAgent,
  ctx: LaunchContext,
  dryRun = false,
): Promise<StartPlan> {
  // A dry run asks the engine nothing, not even which runtime it has.
  const runtime: RunscVerdict = dryRun
    ? { use: false, reason: "runtime not probed in a dry run" }
    : await probeRunsc(ctx.docker, await chooseBaseImage(ctx.docker, ctx.env));
  const blueprint = planBottle(agent, {
    suffix: ctx.suffix(),
    home: ctx.home,
    buildContext: ctx.buildContext,
    useRunsc: runtime.use,
    // Only a cached program: fetching waits until the start is confirmed (see runBottle).
    agentPackage: await findAgentPackage(agentPackageQuery(agent, ctx)),
    upstreamCaPath: await upstreamCaOf(ctx.env),
    allowPrivateUpstreams: ctx.env.CLAUDE_BOTTLE_ALLOW_PRIVATE_UPSTREAMS === "1",
    // Read from the host's npm and pip settings: no registry address is written anywhere.
    registries: await resolveRegistries(
      agent.bottle.registries ?? [],
      { env: ctx.env, run: hostCommands(ctx.env) },
      agent.bottle.label,
    ),
  });
  const missingEnv = missingHostVars(blueprint, ctx.env);
  if (missingEnv.length > 0 && !dryRun) throw missingEnvError(blueprint, missingEnv);
  if (!dryRun) refuseOversizedHostVars(blueprint, ctx.env);
  return {
    blueprint,
    runtime,
    composeEnv: composeEnvOf(blueprint, ctx.env),
    missingEnv,
    skills: await locateSkills(agent, ctx),
  };
}

function agentPackageQuery(agent: ResolvedAgent, ctx: Pick<LaunchContext, "home" | "env">) {
  return {
    provider: agent.bottle.agent,
    ...(agent.bottle.agentVersion === undefined ? {} : { version: agent.bottle.agentVersion }),
    home: ctx.home,
    env: ctx.env,
  };
}

/**
 * Fetches the agent program into the host's cache when the plan has none and mounts it:
 * an attached session needs the program; an --exec run goes without when it is not cached.
 */
export async function ensurePlanAgentPackage(
  plan: StartPlan,
  ctx: LaunchContext,
  signal?: AbortSignal,
): Promise<void> {
  if (plan.blueprint.plan.agentPackage !== null) return;
  const pkg = await ensureAgentPackage({
    ...agentPackageQuery(plan.blueprint.agent, ctx),
    progress: ctx.progress,
    ...(ctx.npm ? { npm: ctx.npm } : {}),
    ...(signal ? { signal } : {}),
  });
  plan.blueprint.plan.agentPackage = agentPackagePlan(pkg);
}

/** The environment of `compose up`: every slot from its host variable, plus the gate's rules. */
function composeEnvOf(blueprint: BottleBlueprint, env: NodeJS.ProcessEnv): Record<string, string> {
  const composeEnv = Object.fromEntries(
    Object.entries(blueprint.composeEnvSources).map(([name, hostVar]) => [
      name,
      env[hostVar] ?? "",
    ]),
  );
  if (hasGitGate(blueprint.plan)) {
    // The gate refuses pushes carrying any secret pipelock knows, in the same encodings.
    composeEnv[GIT_GATE_SECRET_RULES_ENV] = renderSecretRules(
      blueprint.plan.proxyPlan.secretEnv.map((slot) => ({
        name: blueprint.composeEnvSources[slot] ?? slot,
        value: composeEnv[slot] ?? "",
      })),
    );
  }
  return composeEnv;
}

function missingHostVars(blueprint: BottleBlueprint, env: NodeJS.ProcessEnv): string[] {
  return [...new Set(Object.values(blueprint.composeEnvSources))]
    .filter((name) => !env[name])
    .sort();
}

/** A host variable the agent or a sidecar could not be started with (see MAX_ENV_VALUE_BYTES). */
function refuseOversizedHostVars(blueprint: BottleBlueprint, env: NodeJS.ProcessEnv): void {
  for (const name of [...new Set(Object.values(blueprint.composeEnvSources))].sort()) {
    const bytes = Buffer.byteLength(env[name] ?? "", "utf8");
    if (bytes > MAX_ENV_VALUE_BYTES) {
      throw new InputError(
        `host variable ${name}, which bottle ${blueprint.agent.bottle.label} passes on, is ${bytes} bytes; an environment variable may hold at most ${MAX_ENV_VALUE_BYTES}`,
        { hint: `Linux will not start a program with a larger one: export a shorter ${name}` },
      );
    }
  }
}

function missingEnvError(blueprint: BottleBlueprint, missing: string[]): InputError {
  const many = missing.length > 1;
  return new InputError(
    `bottle ${blueprint.agent.bottle.label} needs host variable${many ? "s" : ""} ${missing.join(", ")}, which ${many ? "are" : "is"} not set`,
    { hint: `export ${missing[0]}=… in the shell that runs claude-bottle` },
  );
}

/** CLAUDE_BOTTLE_UPSTREAM_CA: a PEM bundle pipelock trusts upstream, e.g. a company CA. */
async function upstreamCaOf(env: NodeJS.ProcessEnv): Promise<string | null> {
  const path = env.CLAUDE_BOTTLE_UPSTREAM_CA;
  if (!path) return null;
  const hint = "set CLAUDE_BOTTLE_UPSTREAM_CA to the absolute path of a PEM file, or unset it";
  if (!isAbsolute(path))
    throw new InputError(`CLAUDE_BOTTLE_UPSTREAM_CA must be an absolute path, got "${path}"`, {
      hint,
    });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new InputError(`CLAUDE_BOTTLE_UPSTREAM_CA: cannot read ${path}`, { hint });
  }
  if (!text.includes("-----BEGIN CERTIFICATE-----")) {
    throw new InputError(`CLAUDE_BOTTLE_UPSTREAM_CA: ${path} holds no PEM certificate`, { hint });
  }
  return path;
}

async function locateSkills(agent: ResolvedAgent, ctx: LaunchContext) {
  const skills: Array<{ name: string; hostDir: string }> = [];
  for (const skill of agent.skills) {
    const hostDir =
      skill.kind === "path" ? skill.path : join(ctx.userHome, ".claude", "skills", skill.name);
    try {
      await access(hostDir);
    } catch {
      throw new InputError(
        `agent ${agent.label}: skill "${skill.kind === "path" ? skill.path : skill.name}" not found at ${hostDir}`,
        {
          hint: "install the skill there, or remove it from the agent's skills",
        },
      );
    }
    skills.push({ name: skill.kind === "path" ? basename(skill.path) : skill.name, hostDir });
  }
  return skills;
}

export interface RunOptions {
  /** A command to run instead of the agent program (`sh -lc`), for scripts. */
  exec: string | null;
  keepState: boolean;
  /** Attach a TTY to the agent program. */
  tty: boolean;
  /** Aborted on SIGTERM/SIGHUP: stops the agent program, then the bottle is torn down. */
  signal?: AbortSignal;
  /** A repository copied into the agent's ~/work, whose changes are kept at the end. */
  workspace?: Workspace | null;
  /** Told where the work was kept, also when the run ends in an error. */
  onKept?: (kept: KeptWork) => void;
  /** Bring the bottle up and return without attaching: `start --detach`. */
  detach?: boolean;
  /**
   * Asked once the program has ended: true leaves the bottle running for `resume` (the
   * terminal went away and the user asked for that with `--keep`).
   */
  leaveRunning?: () => boolean;
  /** The bound of the end: keeping the work, then removal (default: stopBudgetOf(env)). */
  budget?: StopBudget;
}

/** A bottle that is up and provisioned; `down` removes it (and its state, unless kept). */
export interface StartedBottle {
  prepared: PreparedBottle;
  slug: string;
  project: string;
  /** Removes it within `bounds`; throws a BottleError naming whatever is left. */
  down(options?: { keepState?: boolean; bounds?: RemovalBounds }): Promise<void>;
}

/**
 * Stages, builds, starts and provisions a bottle. On any failure everything it started is
 * removed, its state too, and the first error is rethrown.
 */
export async function upBottle(
  plan: StartPlan,
  ctx: LaunchContext,
  options: UpOptions = {},
): Promise<StartedBottle> {
  const { blueprint } = plan;
  const slug = blueprint.plan.slug;
  const project = composeProjectName(slug);
  const prepared = await prepareBottle(blueprint, { now: ctx.now() });
  let upStarted = false;
  return startOrRemove(plan, prepared, options, {
    remove: async (bounds) => {
      if (upStarted) await removeBottle(ctx.docker, { slug, project, stateDir: null }, bounds);
    },
    start: async () => {
      await writeMetadata(blueprint.stateDir, startingMetadata(blueprint, ctx.now()));
      // compose up goes on if this process is killed: the guard removes what it leaves.
      spawnStartGuard({ pid: process.pid, slug, project, stateDir: blueprint.stateDir }, ctx.env);
      await ensurePlanImages(plan, ctx);

      ctx.progress(`starting bottle ${slug}…`);
      upStarted = true;
      await ctx.docker.run(
        [
          "compose",
          "-p",
          project,
          "-f",
          prepared.composeFile,
          "up",
          "-d",
          "--wait",
          "--quiet-pull",
        ],
        { env: plan.composeEnv, ...(options.signal ? { signal: options.signal } : {}) },
      );
      ctx.progress("provisioning the agent…");
      await provisionAgent(
        ctx.docker,
        agentProvisionOf(plan, prepared, blueprint.plan.containerName),
      );
    },
  });
}

/**
 * What every backend's start shares: runs `steps.start`, and on any failure removes what it
 * started (`steps.remove`), the state directory too unless kept, and rethrows the first
 * error. The bottle it returns is removed the same way.
 */
export async function startOrRemove(
  plan: StartPlan,
  prepared: PreparedBottle,
  options: UpOptions,
  steps: { start(): Promise<void>; remove(bounds?: RemovalBounds): Promise<void> },
): Promise<StartedBottle> {
  const { stateDir } = plan.blueprint;
  const slug = plan.blueprint.plan.slug;
  const down = async (keepState = false, bounds?: RemovalBounds) => {
    // Left in place when something of the bottle is: the next stop or cleanup needs it.
    await steps.remove(bounds);
    // A kept state directory outlives this CLI: tell the start guard the bottle is done.
    if (keepState) await updateMetadata(stateDir, { phase: "stopped" });
    else await rm(stateDir, { recursive: true, force: true });
  };
  try {
    await steps.start();
  } catch (error) {
    // The first error is the one reported; a removal that fails too is said beside it.
    await down(options.keepStateOnFailure ?? false).catch((removal: unknown) => {
      options.onRemovalError?.(removal);
    });
    throw interrupted(options.signal, error);
  }
  return {
    prepared,
    slug,
    project: composeProjectName(slug),
    down: (o = {}) => down(o.keepState ?? false, o.bounds),
  };
}

/** The error to report: `error`, or, when the user interrupted, that the bottle was torn down. */
function interrupted(signal: AbortSignal | undefined, error: unknown): unknown {
  return signal?.aborted
    ? new BottleError("interrupted; the bottle was torn down", { cause: error })
    : error;
}

/** Builds the plan's images that are missing or stale; returns every image the plan runs. */
export async function ensurePlanImages(plan: StartPlan, ctx: LaunchContext): Promise<string[]> {
  const images: ImageOptions = {
    docker: ctx.docker,
    buildContext: ctx.buildContext,
    env: ctx.env,
    progress: ctx.progress,
  };
  const { blueprint } = plan;
  const builds = await imagesForPlan(images, blueprint.plan, blueprint.agent.bottle.runtime);
  await ensureImages(images, builds);
  return builds.map((b) => b.tag);
}

/** A bottle's state as its start begins: who started it, where, and that it is starting. */
export function startingMetadata(blueprint: BottleBlueprint, now: Date): BottleMetadata {
  const slug = blueprint.plan.slug;
  return {
    slug,
    project: composeProjectName(slug),
    agent: blueprint.agent.name,
    bottle: blueprint.agent.bottle.name,
    createdAt: now.toISOString(),
    pid: process.pid,
    hostname: hostname(),
    phase: "starting",
    tokenNames: { ...blueprint.plan.egressPlan.tokenEnvMap },
  };
}

/** What provisioning writes into the agent container named `container`. */
export function agentProvisionOf(
  plan: StartPlan,
  prepared: PreparedBottle,
  container: string,
): AgentProvision {
  const { blueprint } = plan;
  return {
    container,
    caBundle: prepared.agentCaBundle,
    provider: blueprint.plan.agentProvider,
    prompt: blueprint.agent.prompt,
    skills: plan.skills,
    gitconfig: hasGitGate(blueprint.plan)
      ? renderAgentGitConfig(blueprint.plan.slug, blueprint.plan.gitGatePlan.upstreams)
      : null,
    supervise: superviseMcpOf(blueprint.plan),
    literalEnv: blueprint.agentEnvLiterals,
    agentPackage: blueprint.plan.agentPackage,
  };
}

/**
 * Runs the bottle to completion; returns the agent program's exit code. Once the program has
 * run, the agent's work (its repository's changes, or its ~/work) is kept before the bottle
 * is removed, whether the program succeeded, failed or was interrupted, and handed to
 * `onKept`; the whole end is bounded (stopBudgetOf). When another command (`stop`,
 * `cleanup`) took the bottle down, that command kept the work: this says so instead.
 */
export async function runBottle(
  plan: StartPlan,
  ctx: LaunchContext,
  options: RunOptions,
  backend: Pick<Backend, "up" | "exec" | "agent">,
): Promise<number> {
  // A detached bottle needs its program too: `resume` attaches it.
  if (options.exec === null) await ensurePlanAgentPackage(plan, ctx, options.signal);
  const budget = options.budget ?? stopBudgetOf(ctx.env);
  const bottle = await backend.up(plan, {
    keepStateOnFailure: options.keepState,
    ...(options.signal ? { signal: options.signal } : {}),
    onRemovalError: (error) => ctx.progress(`warning: ${describeError(error)}`),
  });
  const { stateDir } = plan.blueprint;
  const workspace = options.workspace ?? null;
  let ran = false;
  let left = false;
  let failed = false;
  let exitCode: number | null = null;
  try {
    if (workspace !== null) {
      ctx.progress(`copying ${workspace.repoDir} into the agent's ~/work…`);
      const agent = await backend.agent(bottle);
      await seedWorkspace(agent.docker, agent.container, workspace, stateDir);
      // Seeded: from here what is in ~/work is the agent's to keep (half a seed is not).
      ran = true;
    }
    // From here a bottle without its CLI is one to resume; resume keeps the work too.
    await updateMetadata(stateDir, {
      phase: "running",
      workspace,
      ...(options.detach ? { detached: true } : {}),
    });
    if (options.detach) {
      left = true;
      return 0;
    }
    ran = true;
    const code = await backend.exec(bottle, options);
    exitCode = code;
    if (options.exec === null && !options.leaveRunning?.()) {
      // Agent programs close with hints of their own ("to resume, run …") that point inside
      // this bottle: say that they are not ours before the bottle goes.
      ctx.progress(
        `the agent program has exited (code ${code}); any "resume" hint it printed above is its own and points inside bottle ${bottle.slug}, which is removed now, its work kept (a bottle started with \`--detach\` stays for \`claude-bottle resume\`)`,
      );
    }
    return code;
  } catch (error) {
    failed = true;
    throw interrupted(options.signal, error);
  } finally {
    if (!left && options.leaveRunning?.()) left = true;
    if (!left) {
      await endRun({ ctx, plan, bottle, backend, options, budget, keep: ran, exitCode }).catch(
        (error: unknown) => {
          // The first error is the one reported; a failed removal is said beside it.
          if (!failed) throw error;
          ctx.progress(`warning: ${describeError(error)}`);
        },
      );
    }
  }
}

/** The end of a run: keep the work and remove, or report the command that already does. */
async function endRun(o: {
  ctx: LaunchContext;
  plan: StartPlan;
  bottle: StartedBottle;
  backend: Pick<Backend, "agent">;
  options: RunOptions;
  budget: StopBudget;
  keep: boolean;
  exitCode: number | null;
}): Promise<void> {
  const { ctx, bottle, options } = o;
  const { stateDir } = o.plan.blueprint;
  const metadata = await readMetadata(stateDir);
  const by = metadata?.stoppingBy;
  const elsewhere = o.keep && (metadata === null || (by !== undefined && by.pid !== process.pid));
  if (elsewhere) {
    ctx.progress(stoppedElsewhereLine(bottle.slug, by, keptDirOf(ctx.home, bottle.slug)));
  }
  await endBottle({
    slug: bottle.slug,
    stateDir: metadata === null ? null : stateDir,
    command: "start",
    exitCode: o.exitCode,
    // The command that removed it recorded how it ended.
    record: !elsewhere,
    keep: o.keep && !elsewhere,
    workspace: options.workspace ?? null,
    home: ctx.home,
    budget: o.budget,
    progress: ctx.progress,
    ...(options.onKept ? { onKept: options.onKept } : {}),
    agent: () => o.backend.agent(bottle),
    remove: (bounds) => bottle.down({ keepState: options.keepState, bounds }),
  });
}

/** What an attached CLI says when another command (`stop`, `cleanup`) removed its bottle. */
export function stoppedElsewhereLine(
  slug: string,
  by: { command: string; pid: number } | undefined,
  keptDir: string,
): string {
  const who = by
    ? `\`claude-bottle ${by.command}\` (pid ${by.pid})`
    : "another claude-bottle command (stop or cleanup)";
  return `bottle ${slug} was removed by ${who}, which kept the agent's work first: ${
    existsSync(keptDir)
      ? `it is in ${keptDir}`
      : "nothing was kept (that command's output says why)"
  }`;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs the agent program (or `options.exec`) in the agent container; returns its exit code.
 * `wrap` turns the command into the one to run (the swarm's puts variables in its env).
 */
export async function attachAgent(
  ctx: Pick<LaunchContext, "docker" | "progress">,
  container: string,
  options: Pick<RunOptions, "exec" | "tty" | "signal">,
  wrap: (command: string[]) => string[] = (command) => command,
): Promise<number> {
  const flags = [
    "exec",
    "-i",
    ...(options.tty ? ["-t"] : []),
    "-u",
    AGENT_USER,
    "-w",
    `${AGENT_HOME}/work`,
  ];
  // The launcher provisioning wrote runs the bottle's provider, whichever it is.
  const command = options.exec === null ? [AGENT_LAUNCHER] : ["sh", "-lc", options.exec];
  ctx.progress(options.exec === null ? "attaching the agent…" : `running: ${options.exec}`);
  const result = await ctx.docker.run([...flags, container, ...wrap(command)], {
    inherit: true,
    allowFailure: true,
    // Killed with this CLI, however it dies: a `docker exec` left behind holds the bottle open.
    dieWithParent: true,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return result.exitCode;
}
