import { access, readFile } from "node:fs/promises";
import { basename, isAbsolute, join } from "node:path";
import { ensureAgentPackage, findAgentPackage } from "../agents/agent-package.js";
import type { NpmClient } from "../agents/npm-client.js";
import { GIT_GATE_SECRET_RULES_ENV } from "../contracts/git-gate.js";
import { agentPackagePlan, type BottleBlueprint, planBottle } from "../core/bottle-blueprint.js";
import { hasGitGate } from "../core/bottle-mounts.js";
import { MAX_ENV_VALUE_BYTES } from "../manifest/manifest-limits.js";
import { hostCommands, resolveRegistries } from "../manifest/registry-endpoints.js";
import type { ResolvedAgent } from "../manifest/resolved-bottle.js";
import { InputError } from "../shared/errors.js";
import { renderSecretRules } from "../sidecars/git-gate/secret-rules.js";
import type { DockerClient } from "./engine/docker-client.js";
import { chooseBaseImage } from "./engine/images.js";
import { probeRunsc, type RunscVerdict } from "./engine/runsc-probe.js";

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
