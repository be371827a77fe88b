// `claude-bottle start <agent>`: the main job. Shows what the bottle grants, asks, builds,
// starts, provisions, attaches the agent, and removes everything when it exits.
import { resolve } from "node:path";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { agentProviderModule } from "../agents/registry.js";
import { describeKeptWork } from "../backend/docker/kept-work.js";
import { planStart, runBottle, type StartPlan } from "../backend/docker/launch-bottle.js";
import { findWorkspace } from "../backend/docker/workspace.js";
import { findRepoRoot, loadAgent } from "../manifest/index.js";
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
    .addOption(backendOption())
    .addHelpText(
      "after",
      `
The preflight lists every host, route, secret name and git remote the bottle grants.
Secrets are passed by name: their values are read from this shell's environment when
the bottle starts, and never written to disk, argv or the agent's environment.

The agent works on a copy of the repository: its branches, tags and working tree,
uncommitted changes included (never .git/config, hooks or ignored files). When it exits,
its new commits become branches claude-bottle/<slug>/<branch> in your repository and its
uncommitted changes a patch in ~/.claude-bottle/kept/<slug>/; the CLI says where.

Examples:
  claude-bottle start demo --dry-run
  claude-bottle start demo --yes --exec 'curl -sI https://api.anthropic.com'`,
    )
    .action(async (name, options) => {
      const launch = launchContextOf(ctx);
      // Manifests first: a bad one is reported before Docker is asked anything.
      // From a subdirectory too: the repository's agents are at its root.
      const repoDir = await findRepoRoot(ctx.cwd);
      const agent = await loadAgent(name, { repoDir, env: ctx.env });
      const backend = backendFor(launch, options);
      if (!options.dryRun) await backend.preflight();
      const plan = await planStart(agent, launch, options.dryRun ?? false);
      const workspace =
        options.workdir === false
          ? null
          : await findWorkspace(
              options.workdir === undefined ? ctx.cwd : resolve(ctx.cwd, options.workdir),
              typeof options.workdir === "string",
            );
      const preflight = `${formatPreflight(preflightOf(plan))}${programLine(plan, options.exec)}${
        workspace === null
          ? "workspace none (an empty ~/work)\n"
          : `workspace ${workspace.repoDir}${workspace.branch ? ` (branch ${workspace.branch})` : ""}, copied in; the agent's changes are kept at exit\n`
      }`;
      if (options.dryRun) {
        if (plan.missingEnv.length > 0) {
          ctx.io.stderr(
            `warning: not set on this host, start would fail: ${plan.missingEnv.join(", ")}\n`,
          );
        }
        const files = backend
          .render(plan)
          .map((f) => `# ${plan.blueprint.stateDir}/${f.name}\n${f.text}`);
        ctx.io.stdout(`${preflight}\n${files.join("\n")}`);
        return;
      }
      ctx.io.stderr(preflight);
      if (
        !(await confirm(ctx, `start bottle ${plan.blueprint.plan.slug}?`, options.yes ?? false))
      ) {
        ctx.io.stderr("not started\n");
        ctx.exitCode = 1;
        return;
      }
      const abort = new AbortController();
      const onSignal = () => abort.abort();
      // Ctrl-C reaches the agent program through the terminal; we stay to tear down.
      const onInterrupt = () => {
        if (!ctx.stdinIsTty) abort.abort();
      };
      process.on("SIGTERM", onSignal).on("SIGHUP", onSignal).on("SIGINT", onInterrupt);
      try {
        const code = await runBottle(
          plan,
          launch,
          {
            exec: options.exec ?? null,
            keepState: options.keepState ?? false,
            tty: ctx.stdinIsTty && Boolean(process.stdout.isTTY),
            signal: abort.signal,
            workspace,
            onKept: (kept) => {
              for (const line of describeKeptWork(kept, ctx.cwd)) ctx.io.stderr(`• ${line}\n`);
            },
          },
          backend,
        );
        ctx.exitCode = code;
      } finally {
        process.off("SIGTERM", onSignal).off("SIGHUP", onSignal).off("SIGINT", onInterrupt);
      }
    });
}

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
