// What the dashboard shows, read the way the CLI reads it: bottles from the engine's labels
// and the state directories (as `list` and `info`), proposals from the supervise queues (as
// `supervise`), and each bottle's hash-chained audit log with its verification (as `audit
// verify`). Decisions go through decideProposal, as the CLI's, with the dashboard named as
// the one who decided. Never returns a token's value: routes carry the env name only.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { allowPatternFor } from "../approval/apply-approval.js";
import { auditLogPath, readAuditEntries, verifyAuditLog } from "../approval/audit-log.js";
import {
  type DecideContext,
  type DecisionOutcome,
  decideProposal,
  scanAndAuditProposals,
} from "../approval/decide-proposal.js";
import { readQueuedProposal } from "../approval/host-queue.js";
import { currentPolicySnapshot } from "../approval/policy-snapshot.js";
import { proposalView } from "../approval/proposal-view.js";
import { listSupervisedBottles, supervisedBottle } from "../approval/supervised-bottle.js";
import type { FoundBottle } from "../backend/backend.js";
import { bottleSummary } from "../backend/bottle-summary.js";
import { keptDirOf } from "../backend/kept-work.js";
import {
  type Decision,
  describeRequest,
  isProposalId,
  type ProposalRequest,
} from "../contracts/queue-format.js";
import { SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS } from "../contracts/supervise.js";
import { InputError } from "../shared/errors.js";
import { readTextNoFollow } from "../shared/queue-files.js";
import { auditLine } from "./audit-lines.js";
import type { BottleListing } from "./bottle-listing.js";
import { BottleProviders } from "./bottle-provider.js";
import type { DecisionHub, RouteTraffic } from "./decision-hub.js";
import type { FollowedContainer } from "./log-follower.js";
import type { StopBottle } from "./stop-bottle.js";

export interface ViewContext {
  /** The backend named so, which puts an approval in force where a bottle's sidecars run. */
  backendOf: DecideContext["backendOf"];
  home: string;
  now: () => Date;
  /** Recorded in the audit log and told to the agent: "dashboard (alice@laptop)". */
  actor: string;
  hub: DecisionHub;
  /** Each bottle's provider, read once; a shared one when not given. */
  providers?: BottleProviders;
  /** The backend's listing, shared by the pages, the polls and the log follower. */
  listing: BottleListing;
  /** Stops a bottle as `claude-bottle stop` does (its work kept first); absent: no stop button. */
  stopBottle?: StopBottle;
}

const sharedProviders = new BottleProviders();

/** "Up 5 minutes (healthy)" → healthy; no health check → null. */
export function healthOf(status: string): "healthy" | "unhealthy" | "starting" | null {
  const m = /\((healthy|unhealthy|health: starting)\)/.exec(status);
  if (m === null) return null;
  return m[1] === "health: starting" ? "starting" : (m[1] as "healthy" | "unhealthy");
}

/** Each route's host and the env name of its token, from the routes file egress reads. */
export function routeTokenNames(
  yamlText: string | null,
): Array<{ host: string; tokenEnv: string }> {
  if (yamlText === null) return [];
  try {
    const doc = parse(yamlText) as {
      routes?: Array<{ host?: unknown; auth?: { tokenEnv?: unknown } }>;
    };
    return (doc?.routes ?? []).map((r) => ({
      host: String(r.host ?? ""),
      tokenEnv: String(r.auth?.tokenEnv ?? ""),
    }));
  } catch {
    return [];
  }
}

/** The host variable the manifest named for a token egress holds as `slot`, as the user wrote it. */
function userTokenName(b: FoundBottle, slot: string | null): string | null {
  if (slot === null) return null;
  return b.metadata?.tokenNames?.[slot] ?? slot;
}

function trafficThrough(traffic: readonly RouteTraffic[], host: string) {
  const t = traffic.find((x) => x.host === host);
  return {
    requests: t?.requests ?? 0,
    requestBytes: t?.requestBytes ?? 0,
    responseBytes: t?.responseBytes ?? 0,
  };
}

/**
 * Where a bottle's work will land when it ends: branches `claude-bottle/<slug>/…` in the host
 * repository it was started in, or, with none, a copy of its ~/work under the home's
 * kept/<slug>/; unknown when its state directory (its metadata) is gone.
 */
export function workLanding(
  home: string,
  b: Pick<FoundBottle, "slug" | "metadata">,
):
  | { into: "repository"; repoDir: string; branchPrefix: string; from: string | null }
  | { into: "kept"; dir: string }
  | { into: "unknown" } {
  if (b.metadata === null) return { into: "unknown" };
  const ws = b.metadata.workspace;
  if (ws === undefined || ws === null) return { into: "kept", dir: `${keptDirOf(home, b.slug)}/` };
  return {
    into: "repository",
    repoDir: ws.repoDir,
    branchPrefix: `claude-bottle/${b.slug}/`,
    from: ws.branch,
  };
}

/** What the page shows of each bottle in `found`, as of now. */
export async function bottlesView(ctx: ViewContext, found: readonly FoundBottle[]) {
  const now = ctx.now();
  return Promise.all(
    found.map(async (b) => {
      const summary = bottleSummary(b);
      const supervised = supervisedBottle(ctx.home, b.slug);
      const policy =
        b.stateDir === null ? null : await currentPolicySnapshot(supervised, now).catch(() => null);
      const tokens = routeTokenNames(
        b.stateDir === null
          ? null
          : await readTextNoFollow(supervised.egressRoutes).catch(() => null),
      );
      const traffic = ctx.hub.trafficOf(b.slug);
      const provider = await (ctx.providers ?? sharedProviders).providerOf(ctx.home, summary);
      return {
        slug: summary.slug,
        agent: summary.agent,
        provider,
        bottle: summary.bottle,
        state: summary.state,
        attached: summary.attached,
        createdAt: summary.createdAt,
        uptimeSeconds:
          summary.createdAt === null
            ? null
            : Math.max(0, Math.round((now.getTime() - Date.parse(summary.createdAt)) / 1000)),
        sidecars: b.containers
          .map((c) => ({ service: c.service, state: c.state, health: healthOf(c.status) }))
          .sort((x, y) => x.service.localeCompare(y.service)),
        hosts: policy?.egress.allow ?? [],
        dlp: policy?.egress.dlp ?? null,
        routes: (policy?.egress.routes ?? []).map((r) => ({
          host: r.host,
          paths: r.paths,
          methods: r.methods,
          tokenEnv: userTokenName(b, tokens.find((t) => t.host === r.host)?.tokenEnv ?? null),
          // egress's lines name the host, not the route: routes sharing a host share its count.
          ...trafficThrough(traffic, r.host),
        })),
        remotes: (policy?.git.remotes ?? []).map((r) => ({ name: r.name, url: r.url })),
        gitleaksExceptions: policy?.git.gitleaksExceptions ?? [],
        rateRefusals: ctx.hub.rateRefusalsOf(b.slug),
        work: workLanding(ctx.home, b),
      };
    }),
  );
}

export type BottleView = Awaited<ReturnType<typeof bottlesView>>[number];

/** The running pipelock, egress and git-gate containers whose decisions the dashboard follows. */
export async function decisionContainers(ctx: ViewContext): Promise<FollowedContainer[]> {
  const { found } = await ctx.listing.fresh();
  const followed: FollowedContainer[] = [];
  for (const b of found) {
    for (const c of b.containers) {
      if (c.state !== "running") continue;
      if (c.service === "pipelock" || c.service === "egress" || c.service === "git-gate") {
        followed.push({ slug: b.slug, source: c.service, container: c.name });
      }
    }
  }
  return followed;
}

/** What approving would put in force, in the words the audit log will use. */
export function changesIfApproved(request: ProposalRequest): string {
  if (request.kind === "egress-host") {
    return `add ${allowPatternFor(request.host, request.port)} to pipelock's allowlist and reload it`;
  }
  return `add ${request.fingerprint} to the git gate's gitleaks allowlist`;
}

/**
 * When the agent's tool call that filed a proposal stops waiting for the answer (supervise's
 * answer timeout after it was filed); null when the filing time does not parse. The agent
 * can still ask for the answer later (proposal_status), but its first call has returned.
 */
export function callTimesOutAt(createdAt: string): string | null {
  const filed = Date.parse(createdAt);
  if (Number.isNaN(filed)) return null;
  return new Date(filed + SUPERVISE_DEFAULT_ANSWER_TIMEOUT_SECONDS * 1000).toISOString();
}

export async function proposalsView(ctx: ViewContext) {
  const bottles = await listSupervisedBottles(ctx.home);
  const scan = await scanAndAuditProposals(ctx, bottles);
  return {
    proposals: scan.proposals
      .map((p) => ({
        ...proposalView(p),
        asksFor: describeRequest(p.proposal.request),
        wouldChange: changesIfApproved(p.proposal.request),
        timesOutAt: callTimesOutAt(p.proposal.createdAt),
      }))
      .reverse(),
    problems: scan.problems,
  };
}

export async function decideFromDashboard(
  ctx: ViewContext,
  wanted: { slug: string; id: string; decision: Decision; reason: string | null },
): Promise<DecisionOutcome> {
  // The slug and id name files: take them only from what the queues list.
  const bottle = (await listSupervisedBottles(ctx.home)).find((b) => b.slug === wanted.slug);
  if (bottle === undefined) throw new InputError(`no supervised bottle "${wanted.slug}"`);
  if (!isProposalId(wanted.id)) throw new InputError(`"${wanted.id}" is not a proposal id`);
  const queued = await readQueuedProposal(bottle, wanted.id);
  if (queued === null) throw new InputError(`no proposal ${wanted.id} in bottle ${wanted.slug}`);
  return decideProposal(ctx, queued, { decision: wanted.decision, reason: wanted.reason });
}

const AUDIT_ENTRIES_SHOWN = 200;

export async function auditView(ctx: ViewContext) {
  let files: string[] = [];
  try {
    files = (await readdir(join(ctx.home, "audit"))).filter((f) => f.endsWith(".jsonl"));
  } catch {
    files = [];
  }
  const slugs = files.map((f) => f.slice(0, -".jsonl".length)).sort();
  return Promise.all(
    slugs.map(async (slug) => {
      const path = auditLogPath(ctx.home, slug);
      const verification = await verifyAuditLog(path);
      const entries = await readAuditEntries(path);
      return {
        slug,
        verification:
          verification === null
            ? { ok: false, entries: 0, message: "no log" }
            : verification.ok
              ? { ok: true, entries: verification.entries, message: "verified" }
              : {
                  ok: false,
                  entries: verification.entries,
                  message: `line ${verification.line}: ${verification.problem}: ${verification.message}`,
                },
        entries: entries.slice(-AUDIT_ENTRIES_SHOWN).map((e) => ({
          seq: e.seq,
          at: e.at,
          event: e.event,
          id: typeof e.id === "string" ? e.id : null,
          request: e.request ?? null,
          decision: typeof e.decision === "string" ? e.decision : null,
          by: typeof e.by === "string" ? e.by : null,
          reason: typeof e.reason === "string" ? e.reason : null,
          changes: Array.isArray(e.changes) ? e.changes.map(String) : [],
          line: auditLine(e),
          hash: e.hash,
        })),
      };
    }),
  );
}
