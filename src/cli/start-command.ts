// `claude-bottle start <agent>`: the main job. Shows what the bottle grants, asks, builds,
// starts, provisions, attaches the agent, and removes everything when it exits.
import { resolve } from "node:path";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { agentProviderModule } from "../agents/registry.js";
import type { Backend } from "../backend/backend.js";
import { runBottle } from "../backend/bottle-lifecycle.js";
import { STOP_TIMEOUT_ENV, stopBudgetOf } from "../backend/end-bottle.js";
import { findWorkspace, type Workspace } from "../backend/engine/workspace.js";
import { describeKeptWork } from "../backend/kept-work.js";
import { type LaunchContext, planStart, type StartPlan } from "../backend/start-plan.js";
import { findRepoRoot, loadAgent } from "../manifest/index.js";
import { InputError } from "../shared/errors.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { confirm } from "./confirm.js";
import { formatPreflight, preflightOf } from "./preflight.js";

export function startCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("start")
    .description(
      "start an agent inside a new bottle, attach to it, and remove the bottle when it exits",
    )
    .argument(
      "<agent>",
      "agent name: ~/.claude-bottle/agents/<agent>.md or <repository>/.claude-bottle/agents/<agent>.md",
    )
    .option("--dry-run", "print the preflight and the compose file; touch nothing")
    .option("-y, --yes", "start without asking for confirmation")
    .option(
      "--exec <command>",
      "run this shell command in the agent container instead of the agent program",
    )
    .option("--keep-state", "keep the state directory (~/.claude-bottle/state/<slug>) after exit")
    .option(
      "--workdir <dir>",
      "the repository to copy into the agent's ~/work (default: the one this is run in)",
    )
    .option("--no-workdir", "give the agent an empty ~/work, even inside a repository")
    .option(
      "--detach",
      "start the bottle and return without attaching the agent: `claude-bottle resume <slug>` attaches it, `claude-bottle stop <slug>` removes it",
    )
    .option(
      "--keep",
      "if this terminal goes away (SIGHUP), leave the bottle running for `claude-bottle resume` instead of removing it",
    )
    .addOption(backendOption())
    .addHelpText("after", START_HELP)
    .action((name, options) => startBottle(ctx, name, options));
}

const START_HELP = `
The preflight lists every host, route, secret name and git remote the bottle grants.
Secrets are passed by name: their values are read from this shell's environment when
the bottle starts, and never written to disk, argv or the agent's environment.

The agent works on a copy of the repository: its branches, tags and working tree,
uncommitted changes included (never .git/config, hooks or ignored files). When it exits,
its new commits become branches claude-bottle/<slug>/<branch> in your repository and its
uncommitted changes a patch in ~/.claude-bottle/kept/<slug>/; the CLI says where. Outside
a repository the agent's ~/work is kept as a copy there. \`stop\`, \`cleanup\`, Ctrl-C and a
closed terminal keep the work the same way before the bottle is removed.

Ctrl-C goes to the agent program. Once it has exited the bottle is removed; a Ctrl-C then
does not interrupt the removal, so a bottle is never left running with its keys. If this
terminal goes away (SIGHUP) the bottle is removed too, its work kept, unless it was started
with --keep (left running: \`claude-bottle resume <slug>\` attaches it again) or --detach.
Each end is bounded: ${STOP_TIMEOUT_ENV} seconds in all (default 120).

Examples:
  claude-bottle start demo --dry-run
  claude-bottle start demo --yes --exec 'curl -sI https://api.anthropic.com'`;

interface StartOptions {
  dryRun?: true;
  yes?: true;
  exec?: string;
  keepState?: true;
  workdir?: string | false;
  detach?: true;
  keep?: true;
  backend: string;
}

async function startBottle(ctx: CliContext, name: string, options: StartOptions): Promise<void> {
  if (options.detach && options.exec !== undefined) {
    throw new InputError("--detach and --exec do not go together", {
      hint: "drop --exec, then `claude-bottle resume <slug> --exec …` runs the command",
    });
  }
  const launch = launchContextOf(ctx);
  // The command line first (an unknown backend), then the manifests: a bad one is reported
  // before Docker is asked anything. From a subdirectory too: the agents are at the root.
  const backend = backendFor(launch, options);
  const repoDir = await findRepoRoot(ctx.cwd);
  const agent = await loadAgent(name, { repoDir, env: ctx.env });
  if (!options.dryRun) await backend.preflight();
  const plan = await planStart(agent, launch, options.dryRun ?? false);
  const workspace =
    options.workdir === false
      ? null
      : await findWorkspace(
          options.workdir === undefined ? ctx.cwd : resolve(ctx.cwd, options.workdir),
          typeof options.workdir === "string",
        );
  const preflight = `${formatPreflight(preflightOf(plan))}${programLine(plan, options.exec)}${workspaceLine(workspace)}`;
  if (options.dryRun) {
    const rendering = await backend.render(plan, ctx.now());
    for (const line of rendering.notes(null)) ctx.io.stderr(`${line}\n`);
    const files = rendering.files.map((f) => `# ${plan.blueprint.stateDir}/${f.name}\n${f.text}`);
    ctx.io.stdout(`${preflight}\n${files.join("\n")}`);
    return;
  }
  ctx.io.stderr(preflight);
  if (!(await confirm(ctx, `start bottle ${plan.blueprint.plan.slug}?`, options.yes ?? false))) {
    ctx.io.stderr("not started\n");
    ctx.exitCode = 1;
    return;
  }
  await runAttached(ctx, launch, plan, backend, { ...options, workspace });
}

function workspaceLine(workspace: Workspace | null): string {
  if (workspace === null) return "workspace none (an empty ~/work)\n";
  const branch = workspace.branch ? ` (branch ${workspace.branch})` : "";
  return `workspace ${workspace.repoDir}${branch}, copied in; the agent's changes are kept at exit\n`;
}

/** Runs the confirmed bottle to its end (or leaves it running: --detach, --keep). */
async function runAttached(
  ctx: CliContext,
  launch: LaunchContext,
  plan: StartPlan,
  backend: Backend,
  options: StartOptions & { workspace: Workspace | null },
): Promise<void> {
  const slug = plan.blueprint.plan.slug;
  const session = watchSession(ctx, slug, { keep: options.keep ?? false });
  try {
    const code = await runBottle(
      plan,
      launch,
      {
        exec: options.exec ?? null,
        keepState: options.keepState ?? false,
        tty: ctx.stdinIsTty && Boolean(process.stdout.isTTY),
        signal: session.signal,
        workspace: options.workspace,
        onKept: (kept) => {
          for (const line of describeKeptWork(kept, ctx.cwd)) ctx.io.stderr(`• ${line}\n`);
        },
        detach: options.detach ?? false,
        leaveRunning: session.leaving,
        budget: stopBudgetOf(ctx.env),
      },
      backend,
    );
    if (options.detach || session.leaving()) {
      ctx.io.stderr(
        `• bottle ${slug} is left running${options.detach ? "" : " (--keep): its terminal went away"}: \`claude-bottle resume ${slug}\` attaches the agent (and removes the bottle when it exits); \`claude-bottle stop ${slug}\` keeps its work and removes it\n`,
      );
    }
    ctx.exitCode = code;
  } finally {
    session.dispose();
  }
}

export interface WatchedSession {
  /** Aborted on SIGTERM, SIGHUP, and Ctrl-C without a terminal: ends the program, then the bottle. */
  signal: AbortSignal;
  /** True once the terminal went away and the user asked to keep the bottle (--keep). */
  leaving: () => boolean;
  dispose(): void;
}

/**
 * The signals of an attached session. The first SIGTERM, SIGHUP, or Ctrl-C without a
 * terminal ends the program; the bottle is then removed with its work kept. Later Ctrl-Cs
 * (with a terminal Ctrl-C goes to the agent program; one seen here came during the start or
 * the removal) are answered, never obeyed. After a hang-up nothing is written to the gone
 * terminal.
 */
export function watchSession(
  ctx: CliContext,
  slug: string,
  options: { keep: boolean },
): WatchedSession {
  const abort = new AbortController();
  let leaving = false;
  const onTerm = () => abort.abort();
  const onHangup = () => {
    // The terminal is gone: writes to it fail with EIO, which must not end the removal.
    process.stdout.on("error", ignore);
    process.stderr.on("error", ignore);
    if (options.keep) leaving = true;
    abort.abort();
  };
  const onInterrupt = () => {
    if (!ctx.stdinIsTty && !abort.signal.aborted) {
      ctx.io.stderr(`• interrupted: keeping the agent's work, then removing bottle ${slug}\n`);
      abort.abort();
      return;
    }
    ctx.io.stderr(
      `• bottle ${slug}: Ctrl-C does not interrupt its start or its removal (its work is kept first), so it is never left running with its keys\n`,
    );
  };
  process.on("SIGTERM", onTerm).on("SIGHUP", onHangup).on("SIGINT", onInterrupt);
  return {
    signal: abort.signal,
    leaving: () => leaving,
    dispose() {
      process.off("SIGTERM", onTerm).off("SIGHUP", onHangup).off("SIGINT", onInterrupt);
    },
  };
}

function ignore(): void {}

/** Which agent program the bottle runs, and whether it must be fetched first. */
export function programLine(plan: StartPlan, exec: string | undefined): string {
  const bottle = plan.blueprint.agent.bottle;
  const module = agentProviderModule(bottle.agent);
  const pkg = plan.blueprint.plan.agentPackage;
  const version = pkg?.version ?? bottle.agentVersion ?? module.defaultVersion;
  const state =
    pkg !== null
      ? `cached, mounted read-only from ${pkg.hostDir}`
      : exec === undefined
        ? "not cached: fetched with this host's npm after you confirm"
        : `not cached: the command runs without it (\`claude-bottle fetch ${bottle.agent}\` adds it)`;
  return `program   ${module.title} ${version}, ${state}\n`;
}
