// `claude-bottle doctor`: checks this machine can run bottles, and says how to fix what
// it cannot.
import { stat } from "node:fs/promises";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { cachedAgentVersions, findAgentPackage } from "../agents/agent-package.js";
import { NPM_FIX_HINT, NpmCli, npmLastLine } from "../agents/npm-client.js";
import { agentProviderModule, hostArch } from "../agents/registry.js";
import {
  type AddressRoom,
  MAKE_ROOM,
  NETWORKS_PER_BOTTLE,
  readAddressRoom,
} from "../backend/engine/address-pools.js";
import { checkEngine } from "../backend/engine/docker-client.js";
import { chooseBaseImage, NODE_IMAGE } from "../backend/engine/images.js";
import { probeRunsc } from "../backend/engine/runsc-probe.js";
import { PIPELOCK_IMAGE } from "../contracts/pipelock.js";
import { AGENT_PROVIDERS, DEFAULT_AGENT_IMAGE } from "../manifest/index.js";
import type { AgentProvider } from "../manifest/resolved-bottle.js";
import { BottleError } from "../shared/errors.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

export interface Check {
  name: string;
  ok: boolean;
  /** Informational checks never fail the command. */
  required: boolean;
  detail: string;
  /** Numbers behind the detail, for scripts reading --json. */
  figures?: Record<string, number>;
}

export function doctorCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("doctor")
    .description(
      "check the Docker engine, Compose, how many more bottles its network addresses hold, gVisor, images, the home directory and which agent programs are ready",
    )
    .option("--json", "print the checks as JSON")
    .action(async (options) => {
      const checks = await runChecks(ctx);
      if (options.json) {
        ctx.io.stdout(`${JSON.stringify(checks, null, 2)}\n`);
      } else {
        for (const c of checks) {
          const mark = c.ok ? "ok  " : c.required ? "FAIL" : "note";
          ctx.io.stdout(`${mark}  ${c.name.padEnd(14)} ${c.detail}\n`);
        }
      }
      if (checks.some((c) => c.required && !c.ok)) ctx.exitCode = 1;
    });
}

async function runChecks(ctx: CliContext): Promise<Check[]> {
  const checks: Check[] = [];
  try {
    const v = await checkEngine(ctx.docker);
    checks.push({ name: "docker engine", ok: true, required: true, detail: v.engine });
    checks.push({ name: "compose", ok: true, required: true, detail: `v${v.compose}` });
  } catch (error) {
    const e = error instanceof BottleError ? error : new BottleError(String(error));
    checks.push({
      name: "docker",
      ok: false,
      required: true,
      detail: `${e.message}${e.hint ? `; ${e.hint}` : ""}`,
    });
    checks.push(await homeCheck(ctx));
    checks.push(...(await agentChecks(ctx)));
    return checks;
  }
  checks.push(await addressCheck(ctx));
  const base = await chooseBaseImage(ctx.docker, ctx.env);
  const runsc = await probeRunsc(ctx.docker, base);
  checks.push({ name: "isolation", ok: runsc.use, required: false, detail: runsc.reason });
  for (const image of [base, NODE_IMAGE, DEFAULT_AGENT_IMAGE, PIPELOCK_IMAGE]) {
    const found = await ctx.docker.run(["image", "inspect", image], { allowFailure: true });
    checks.push({
      name: "image",
      ok: found.exitCode === 0,
      required: false,
      detail: found.exitCode === 0 ? image : `${image} not built yet (the first start builds it)`,
    });
  }
  checks.push(await homeCheck(ctx));
  checks.push(...(await agentChecks(ctx)));
  return checks;
}

/** Below this many bottles' room, doctor says how to make more before a start runs out. */
export const FEW_BOTTLES = 10;

async function addressCheck(ctx: CliContext): Promise<Check> {
  try {
    return addressRoomCheck(await readAddressRoom(ctx.docker));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return {
      name: "addresses",
      ok: false,
      required: false,
      detail: `could not read the engine's address pools: ${message}`,
    };
  }
}

export function addressRoomCheck(room: AddressRoom): Check {
  const pools = room.defaults ? "the engine's default address pools" : "the engine's address pools";
  const counts = `${room.used} of the ${room.total} networks ${pools} hold are in use; each bottle takes ${NETWORKS_PER_BOTTLE}`;
  const figures = { bottles: room.bottles, networksUsed: room.used, networksTotal: room.total };
  const roomText = `room for ${room.bottles} more bottle${room.bottles === 1 ? "" : "s"}`;
  if (room.bottles >= FEW_BOTTLES) {
    return {
      name: "addresses",
      ok: true,
      required: false,
      detail: `${roomText} (${counts})`,
      figures,
    };
  }
  return {
    name: "addresses",
    ok: false,
    required: room.bottles === 0,
    detail: `${room.bottles === 0 ? "no room for another bottle" : roomText} (${counts}); ${MAKE_ROOM}`,
    figures,
  };
}

/** Each provider's pinned program: cached, fetchable with this host's npm, or not. */
async function agentChecks(ctx: CliContext): Promise<Check[]> {
  const home = launchContextOf(ctx).home;
  const npm = new NpmCli();
  const checks: Check[] = [];
  for (const provider of AGENT_PROVIDERS) {
    const module = agentProviderModule(provider);
    const name = `agent ${provider}`;
    try {
      checks.push(...(await unprovenChecks(ctx, provider)));
      const cached = await findAgentPackage({ provider, home, env: ctx.env });
      if (cached !== null) {
        checks.push({
          name,
          ok: true,
          required: false,
          detail: `${module.title} ${cached.version} cached in ${cached.dir}`,
        });
        continue;
      }
      const spec = module.packageFor(module.defaultVersion, hostArch()).spec;
      const viewed = await npm.run(["view", spec, "dist.integrity", "--json"], { cwd: home });
      checks.push(
        viewed.exitCode === 0
          ? {
              name,
              ok: true,
              required: false,
              detail: `${module.title} ${module.defaultVersion} not cached, fetchable: claude-bottle fetch ${provider}`,
            }
          : {
              name,
              ok: false,
              required: false,
              detail: `${module.title} not cached and not fetchable: npm view ${spec} failed: ${npmLastLine(viewed)}; ${NPM_FIX_HINT}`,
            },
      );
    } catch (error) {
      const e = error instanceof BottleError ? error : new BottleError(String(error));
      checks.push({
        name,
        ok: false,
        required: false,
        detail: `${e.message}${e.hint ? `; ${e.hint}` : ""}`,
      });
    }
  }
  return checks;
}

/**
 * A cached version other than those the first-run seed was proved for: its settings may
 * have been renamed, so a bottle running it may stop at a dialog or call hosts the
 * bottle does not allow.
 */
async function unprovenChecks(ctx: CliContext, provider: AgentProvider): Promise<Check[]> {
  const home = launchContextOf(ctx).home;
  const versions = await cachedAgentVersions({ provider, home, env: ctx.env });
  return unprovenVersionNotes(provider, versions);
}

export function unprovenVersionNotes(
  provider: AgentProvider,
  versions: readonly string[],
): Check[] {
  const module = agentProviderModule(provider);
  return versions
    .filter((v) => !module.provenVersions.includes(v))
    .map((v) => ({
      name: `agent ${provider}`,
      ok: false,
      required: false,
      detail: `${module.title} ${v} is cached, but claude-bottle's first-run settings are proved only for ${module.provenVersions.join(", ")}: a bottle pinned to ${v} may stop at a first-run dialog; pin ${module.defaultVersion} (agent: {provider: ${provider}, version: ${module.defaultVersion}}) if it does`,
    }));
}

/** Bottles hold policy: the home must not be writable by anyone but its owner. */
async function homeCheck(ctx: CliContext): Promise<Check> {
  const home = launchContextOf(ctx).home;
  try {
    const st = await stat(home);
    const loose = (st.mode & 0o022) !== 0;
    const foreign = typeof process.getuid === "function" && st.uid !== process.getuid();
    if (loose || foreign) {
      return {
        name: "home",
        ok: false,
        required: true,
        detail: `${home} is ${loose ? "writable by group or others" : "owned by another user"}; run: chmod 700 ${home}`,
      };
    }
    return {
      name: "home",
      ok: true,
      required: true,
      detail: `${home} (mode ${(st.mode & 0o777).toString(8)})`,
    };
  } catch {
    return {
      name: "home",
      ok: true,
      required: false,
      detail: `${home} does not exist yet; run \`claude-bottle init\``,
    };
  }
}
