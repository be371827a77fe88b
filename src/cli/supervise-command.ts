// `claude-bottle supervise`: the human's side of supervision. Lists what the agents of every
// bottle on this machine asked for, shows one proposal, approves or denies it (an approval is
// in force before the agent hears of it), and with no subcommand on a terminal, walks the
// pending ones interactively.
import { hostname, userInfo } from "node:os";
import { createInterface } from "node:readline/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import {
  type DecideContext,
  type DecisionOutcome,
  decideProposal,
  scanAndAuditProposals,
} from "../approval/decide-proposal.js";
import { findProposal, type QueuedProposal } from "../approval/host-queue.js";
import {
  proposalDetails,
  proposalRow,
  proposalView,
  shownLine,
} from "../approval/proposal-view.js";
import { listSupervisedBottles } from "../approval/supervised-bottle.js";
import { backendNamed } from "../backend/backends.js";
import type { Decision } from "../contracts/queue-format.js";
import { InputError } from "../shared/errors.js";
import { shellCommandLine, terminalSafe, terminalSafeJson } from "../shared/terminal-text.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { formatTable } from "./format-table.js";

export function superviseCommand(ctx: CliContext): CommandUnknownOpts {
  const command = new Command("supervise")
    .description("review and approve or deny what agents asked for (on a terminal: one by one)")
    // Commander gives a parent's option to the parent wherever it appears on the line, so
    // --json is declared once here and read by every subcommand through optsWithGlobals().
    .option("--json", "print JSON for scripts (with any subcommand)")
    .action(async (options) => {
      if (options.json || !ctx.stdinIsTty) {
        await listProposals(ctx, { all: false, json: Boolean(options.json) });
        return;
      }
      const terminal = terminalPrompt();
      try {
        await reviewInteractively(ctx, terminal.ask, { watchEveryMs: 1000 });
      } finally {
        terminal.close();
      }
    });
  command.addCommand(
    new Command("list")
      .alias("ls")
      .description("list pending proposals across all bottles on this machine")
      .option("--all", "include decided proposals")
      .action(async (options, cmd) => {
        await listProposals(ctx, { all: Boolean(options.all), json: jsonWanted(cmd) });
      }),
  );
  command.addCommand(
    new Command("show")
      .description("show one proposal: what it asks for, why, and its answer")
      .argument("<id>", "the proposal's id (or a unique prefix of it)")
      .action(async (id, _options, cmd) => {
        const proposal = await locate(ctx, id);
        if (jsonWanted(cmd)) ctx.io.stdout(`${terminalSafeJson(proposalView(proposal), 2)}\n`);
        else ctx.io.stdout(proposalDetails(proposal, ctx.now()));
      }),
  );
  command.addCommand(decisionCommand(ctx, "approved"));
  command.addCommand(decisionCommand(ctx, "denied"));
  // The program copies its settings (output to ctx.io, errors thrown, not exited) onto this
  // command only after it is built: pass them on to the subcommands when one is run.
  command.hook("preSubcommand", (self, sub) => {
    sub.copyInheritedSettings(self);
    sub.configureHelp({ ...self.configureHelp(), showGlobalOptions: true });
  });
  return command;
}

function decisionCommand(ctx: CliContext, decision: Decision) {
  const approve = decision === "approved";
  return new Command(approve ? "approve" : "deny")
    .description(
      approve
        ? "approve a proposal: put it in force now, then answer the waiting agent"
        : "deny a proposal; the agent is told your reason",
    )
    .argument("<id>", "the proposal's id (or a unique prefix of it)")
    .option(
      "--reason <text>",
      approve ? "a note for the agent and the audit log" : "why (required: the agent is told)",
    )
    .action(async (id, options, cmd) => {
      if (!approve && !options.reason?.trim()) {
        throw new InputError("deny needs --reason: the agent is told why", {
          hint: `${shellCommandLine(["claude-bottle", "supervise", "deny", id])} --reason "…"`,
        });
      }
      const proposal = await locate(ctx, id);
      const outcome = await decideProposal(deciderOf(ctx), proposal, {
        decision,
        reason: options.reason ?? null,
      });
      if (jsonWanted(cmd)) ctx.io.stdout(`${terminalSafeJson(outcome, 2)}\n`);
      else ctx.io.stdout(describeOutcome(outcome));
    });
}

function jsonWanted(cmd: CommandUnknownOpts): boolean {
  return Boolean(cmd.optsWithGlobals().json);
}

async function scanAll(ctx: CliContext) {
  const home = launchContextOf(ctx).home;
  const bottles = await listSupervisedBottles(home);
  const scan = await scanAndAuditProposals(ctx, bottles);
  for (const problem of scan.problems) ctx.io.stderr(`warning: skipped ${terminalSafe(problem)}\n`);
  return scan.proposals;
}

async function locate(ctx: CliContext, id: string): Promise<QueuedProposal> {
  return findProposal(await scanAll(ctx), id);
}

async function listProposals(ctx: CliContext, options: { all: boolean; json: boolean }) {
  const all = await scanAll(ctx);
  const shown = options.all ? all : all.filter(isOpen);
  if (options.json) {
    ctx.io.stdout(`${terminalSafeJson(shown.map(proposalView), 2)}\n`);
    return;
  }
  if (shown.length === 0) {
    ctx.io.stdout(options.all ? "no proposals\n" : "no pending proposals\n");
    return;
  }
  const now = ctx.now();
  ctx.io.stdout(
    formatTable(
      ["ID", "BOTTLE", "STATUS", "AGE", "ASKS FOR", "REASON"],
      shown.map((p) => proposalRow(p, now)),
    ),
  );
}

function isOpen(p: QueuedProposal): boolean {
  return p.status === "pending" || p.status === "deciding";
}

/** The host user who decides, as the audit log and the agent see them. */
export function hostActor(env: NodeJS.ProcessEnv): string {
  const user = env.SUDO_USER ? `${env.SUDO_USER} (sudo)` : userInfo().username;
  return `${user}@${hostname()}`;
}

function deciderOf(ctx: CliContext): DecideContext {
  const launch = launchContextOf(ctx);
  return {
    backendOf: (name) => backendNamed(name, launch),
    now: ctx.now,
    actor: hostActor(ctx.env),
  };
}

function describeOutcome(o: DecisionOutcome): string {
  const head = `${o.decision} ${shownLine(o.id)} (bottle ${shownLine(o.slug)})${o.resumed ? ", finishing an interrupted decision" : ""}`;
  return `${head}\n${o.changes.map((c) => `  - ${shownLine(c)}\n`).join("")}`;
}

/** Asks one question; resolves null when input ended. */
export type Prompt = (question: string) => Promise<string | null>;

function terminalPrompt(): { ask: Prompt; close: () => void } {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  let closed = false;
  rl.on("close", () => {
    closed = true;
  });
  const ask: Prompt = async (question) => {
    if (closed) return null;
    try {
      return await rl.question(question);
    } catch {
      return null;
    }
  };
  return { ask, close: () => rl.close() };
}

/** The interactive review: list, pick, approve or deny with a reason, repeat. */
export async function reviewInteractively(
  ctx: CliContext,
  ask: Prompt,
  /** With watchEveryMs, waits for new proposals when none is pending; else returns. */
  options: { watchEveryMs?: number } = {},
): Promise<void> {
  let announced = false;
  for (;;) {
    const open = (await scanAll(ctx)).filter(isOpen);
    if (open.length === 0) {
      const { watchEveryMs } = options;
      if (watchEveryMs === undefined) {
        ctx.io.stdout("no pending proposals\n");
        return;
      }
      if (!announced)
        ctx.io.stderr("no pending proposals; watching for new ones (Ctrl-C to quit)…\n");
      announced = true;
      await sleep(watchEveryMs);
      continue;
    }
    announced = false;
    const now = ctx.now();
    ctx.io.stdout(
      formatTable(
        ["#", "ID", "BOTTLE", "STATUS", "AGE", "ASKS FOR", "REASON"],
        open.map((p, i) => [String(i + 1), ...proposalRow(p, now)]),
      ),
    );
    const pick = (await ask("review which (number), r to refresh, q to quit? "))?.trim();
    if (pick === undefined || pick === "q") return;
    const chosen = open[Number(pick) - 1];
    if (chosen === undefined) continue;
    ctx.io.stdout(proposalDetails(chosen, now));
    const verb = (await ask("a to approve, d to deny, anything else to go back? "))?.trim();
    if (verb === undefined) return;
    if (verb !== "a" && verb !== "d") continue;
    const decision: Decision = verb === "a" ? "approved" : "denied";
    let reason: string | null = null;
    while (reason === null || (decision === "denied" && reason.trim() === "")) {
      reason = await ask(
        decision === "approved"
          ? "note for the agent (optional): "
          : "reason (the agent is told): ",
      );
      if (reason === null) return;
      if (decision === "approved") break;
    }
    try {
      const outcome = await decideProposal(deciderOf(ctx), chosen, { decision, reason });
      ctx.io.stdout(describeOutcome(outcome));
    } catch (error) {
      ctx.io.stderr(
        `could not decide ${shownLine(chosen.proposal.id)}: ${shownLine((error as Error).message)}\n`,
      );
    }
  }
}
