// `claude-bottle info <slug>`: one bottle as it is now: its services and their health, the
// policy in force (hosts, routes without tokens, remotes, exceptions), the agent's pending
// requests, and what pipelock refused lately. Reads the engine and the state directory only;
// changes nothing. Never shows a secret: pipelock's audit lines are redacted at the source.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { scanProposals } from "../approval/host-queue.js";
import { currentPolicySnapshot } from "../approval/policy-snapshot.js";
import { formatAge, proposalRow } from "../approval/proposal-view.js";
import { supervisedBottle } from "../approval/supervised-bottle.js";
import type { Backend, FoundBottle } from "../backend/backend.js";
import { bottleSummary } from "../backend/bottle-summary.js";
import { InputError } from "../shared/errors.js";
import { terminalSafe, terminalSafeJson } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { formatTable } from "./format-table.js";
import { bottleNamed } from "./list-command.js";

/** One refusal as pipelock audited it. */
export interface Refusal {
  ts: string;
  decision: string;
  method: string;
  host: string;
  port: number;
  path: string | null;
  rule: string | null;
  location: string | null;
  status: number | null;
}

const REFUSED = new Set(["denied", "dlp_block", "error"]);
/** How far back in pipelock's log to look for refusals. */
const LOG_LINES = 2000;

export function infoCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("info")
    .description("show one bottle: services, policy, pending requests and recent refusals")
    .argument("<slug>", "the bottle's slug, as `claude-bottle list` shows it")
    .option("--json", "print JSON for scripts")
    .option("--refusals <n>", "how many recent refusals to show", "10")
    .addOption(backendOption())
    .action(async (slug, options) => {
      const count = Number(options.refusals);
      if (!Number.isInteger(count) || count < 0 || count > 1000) {
        throw new InputError(`--refusals ${options.refusals}: not a whole number from 0 to 1000`, {
          hint: "for example --refusals 20",
        });
      }
      const launch = launchContextOf(ctx);
      const backend = backendFor(launch, options);
      const bottle = bottleNamed(await backend.list(), slug);
      const { info, pendingRows } = await bottleInfo(
        backend,
        launch.home,
        bottle,
        ctx.now(),
        count,
      );
      if (options.json) {
        ctx.io.stdout(`${terminalSafeJson(info, 2)}\n`);
        return;
      }
      ctx.io.stdout(formatInfo(info, pendingRows, bottle, ctx.now()));
    });
}

async function bottleInfo(
  backend: Backend,
  home: string,
  bottle: FoundBottle,
  now: Date,
  refusalCount: number,
) {
  const supervised = supervisedBottle(home, bottle.slug);
  const policy =
    bottle.stateDir === null
      ? null
      : await currentPolicySnapshot(supervised, now).catch(() => null);
  const { proposals } = await scanProposals(bottle.stateDir === null ? [] : [supervised]);
  const pending = proposals.filter((p) => p.status === "pending" || p.status === "deciding");
  const log = await backend.sidecarLog(bottle, "pipelock", LOG_LINES);
  const info = {
    ...bottleSummary(bottle),
    containers: bottle.containers.map((c) => ({
      service: c.service,
      state: c.state,
      status: c.status,
    })),
    policy: policy === null ? null : { egress: policy.egress, git: policy.git },
    pending: pending.map((p) => ({
      id: p.proposal.id,
      status: p.status,
      createdAt: p.proposal.createdAt,
      request: p.proposal.request,
      reason: p.proposal.reason,
    })),
    refusals: parseRefusals(log).slice(-refusalCount),
    limits: parseLimits(log),
  };
  return { info, pendingRows: pending.map((p) => proposalRow(p, now)) };
}

/** What the bottle's limits refused: per host (or wildcard) its rate refusals and bursts. */
export interface Limits {
  rate: { host: string; refusals: number; bursts: number }[];
  names: { wildcard: string; used: number; budget: number; refusals: number }[];
}

/**
 * The counts pipelock's refusal lines carry: a rate line has its bucket's totals so far, so
 * the latest line of each bucket tells them (within the lines read); name-budget refusals are
 * counted here.
 */
export function parseLimits(text: string): Limits {
  const rate = new Map<string, Limits["rate"][number]>();
  const names = new Map<string, Limits["names"][number]>();
  for (const event of jsonLines(text)) {
    const r = event.rate as Record<string, unknown> | undefined;
    if (r !== null && typeof r === "object" && typeof r.key === "string") {
      rate.set(r.key, { host: r.key, refusals: Number(r.refusals), bursts: Number(r.bursts) });
    }
    const n = event.names as Record<string, unknown> | undefined;
    if (n !== null && typeof n === "object" && typeof n.pattern === "string") {
      const before = names.get(n.pattern)?.refusals ?? 0;
      names.set(n.pattern, {
        wildcard: n.pattern,
        used: Number(n.used),
        budget: Number(n.budget),
        refusals: before + 1,
      });
    }
  }
  return { rate: [...rate.values()], names: [...names.values()] };
}

/** The JSON objects among a log's lines; anything else on it (startup text) is passed over. */
function jsonLines(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // A line cut short or not JSON: not an event.
    }
  }
  return events;
}

/** Audit lines that are refusals; anything else on the log (startup text) is passed over. */
export function parseRefusals(text: string): Refusal[] {
  const refusals: Refusal[] = [];
  for (const event of jsonLines(text)) {
    if (typeof event.decision !== "string" || !REFUSED.has(event.decision)) continue;
    refusals.push({
      ts: String(event.ts ?? ""),
      decision: event.decision,
      method: String(event.method ?? ""),
      host: String(event.host ?? ""),
      port: Number(event.port ?? 0),
      path: typeof event.path === "string" ? event.path : null,
      rule: typeof event.rule === "string" ? event.rule : null,
      location: typeof event.location === "string" ? event.location : null,
      status: typeof event.status === "number" ? event.status : null,
    });
  }
  return refusals;
}

export type Info = Awaited<ReturnType<typeof bottleInfo>>["info"];

/**
 * The text `info` prints. Everything in `info` was read from engine labels, the state
 * directory, the supervise queue or pipelock's log: every such string is shown through
 * terminalSafe (`pendingRows` come from proposalRow, already safe).
 */
export function formatInfo(
  info: Info,
  pendingRows: string[][],
  bottle: FoundBottle,
  now: Date,
): string {
  const t = (text: string) => terminalSafe(text);
  const list = (items: readonly string[]) =>
    items.length === 0 ? "none" : items.map(t).join(", ");
  const lines = [
    `bottle ${t(info.slug)}: agent ${t(info.agent ?? "?")}, bottle ${t(info.bottle ?? "?")}, ${t(info.state)}` +
      (info.createdAt ? `, started ${formatAge(info.createdAt, now)} ago` : "") +
      `, CLI ${info.attached ? "attached" : "gone"}`,
    `state: ${t(bottle.stateDir ?? "none")}`,
    "",
    formatTable(
      ["SERVICE", "STATE", "STATUS"],
      info.containers.map((c) => [t(c.service), t(c.state), t(c.status)]),
    ).trimEnd(),
    "",
  ];
  if (info.policy === null) {
    lines.push("policy: unknown (no state directory)");
  } else {
    const { egress, git } = info.policy;
    lines.push(`allowed hosts: ${list(egress.allow)}`);
    lines.push(`dlp: ${t(egress.dlp ?? "?")}`);
    lines.push(
      `routes: ${list(egress.routes.map((r) => `${r.host} ${r.paths.join(",")} ${r.methods === "all" ? "all methods" : r.methods.join(",")}`))}`,
    );
    lines.push(`git remotes: ${list(git.remotes.map((r) => `${r.name} ${r.url}`))}`);
    lines.push(`gitleaks exceptions: ${list(git.gitleaksExceptions)}`);
  }
  lines.push("");
  if (pendingRows.length === 0) lines.push("pending requests: none");
  else {
    lines.push("pending requests:");
    lines.push(
      formatTable(["ID", "BOTTLE", "STATUS", "AGE", "ASKS FOR", "REASON"], pendingRows).trimEnd(),
    );
  }
  lines.push("");
  const { rate, names } = info.limits;
  if (rate.length === 0 && names.length === 0) lines.push("limits: nothing refused");
  else {
    lines.push("limits:");
    lines.push(
      formatTable(
        ["HOST", "LIMIT", "REFUSED", "BURSTS"],
        [
          ...rate.map((r) => [t(r.host), "rate", String(r.refusals), String(r.bursts)]),
          ...names.map((n) => [
            t(n.wildcard),
            `names ${n.used}/${n.budget}`,
            String(n.refusals),
            "",
          ]),
        ],
      ).trimEnd(),
    );
  }
  lines.push("");
  if (info.refusals.length === 0) lines.push("recent refusals: none");
  else {
    lines.push("recent refusals:");
    lines.push(
      formatTable(
        ["AGE", "DECISION", "TARGET", "RULE", "WHERE"],
        info.refusals.map((r) => [
          r.ts ? formatAge(r.ts, now) : "?",
          t(r.decision),
          terminalSafe(`${r.method} ${r.host}:${r.port}${r.path ?? ""}`, { max: 70 }),
          t(r.rule ?? ""),
          t(r.location ?? ""),
        ]),
      ).trimEnd(),
    );
  }
  return `${lines.join("\n")}\n`;
}
