// The MCP tools through which the agent asks a human for more: a host to reach, a gitleaks
// finding to let through. A request files a proposal in the queue and waits, bounded, for
// the human's answer, telling the client it is still waiting (progress notifications) so the
// call is not dropped as idle. It never decides anything itself and never reads a secret.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import {
  type Answer,
  describeRequest,
  type Proposal,
  type ProposalRequest,
} from "../../contracts/queue-format.js";
import { normalizeEgressHost, validateFingerprint } from "../../contracts/request-validation.js";
import { SUPERVISE_TOOLS } from "../../contracts/supervise.js";
import { VERSION } from "../../shared/version.js";
import { PendingLimitError, type ProposalQueue, type ProposalState } from "./proposal-queue.js";

export interface SuperviseServerOptions {
  queue: ProposalQueue;
  /** How long a request call waits for the human before answering timed_out. */
  answerTimeoutMs: number;
  /** Interval of progress notifications while waiting. */
  progressEveryMs?: number;
}

type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export function createSuperviseMcpServer(options: SuperviseServerOptions): McpServer {
  const server = new McpServer({ name: "claude-bottle-supervise", version: VERSION });
  registerRequestEgressHost(server, options);
  registerRequestGitleaksException(server, options);
  registerProposalStatus(server, options);
  registerListProposals(server, options);
  registerShowPolicy(server, options);
  return server;
}

const REASON = z
  .string()
  .min(1)
  .max(4000)
  .describe("why the task needs it; the human reads this before deciding");

/** request_egress_host: a host to reach, filed and waited for. */
function registerRequestEgressHost(server: McpServer, options: SuperviseServerOptions): void {
  server.registerTool(
    SUPERVISE_TOOLS.requestEgressHost,
    {
      title: "Ask to reach a host",
      description:
        "Ask the human supervising this sandbox to allow outbound connections to one host " +
        "(the egress proxy refused it with 403). Waits for the answer: approved means the " +
        "host is reachable now (retry); denied comes with the human's reason; timed_out " +
        "means the proposal stays pending: check it later with proposal_status.",
      inputSchema: {
        host: z.string().describe("exact host name or IP address, e.g. api.example.com"),
        port: z
          .number()
          .int()
          .min(1)
          .max(65535)
          .optional()
          .describe("one port; omit for the web ports 443 and 80"),
        reason: REASON,
      },
    },
    async (args, extra) => {
      const host = normalizeEgressHost(args.host);
      if (!host.ok) return failure(host.message);
      const request: ProposalRequest = {
        kind: "egress-host",
        host: host.value,
        port: args.port ?? null,
      };
      return requestAndWait(options, request, args.reason, extra);
    },
  );
}

/** request_gitleaks_exception: one finding the git gate refused, filed and waited for. */
function registerRequestGitleaksException(
  server: McpServer,
  options: SuperviseServerOptions,
): void {
  server.registerTool(
    SUPERVISE_TOOLS.requestGitleaksException,
    {
      title: "Ask to let a gitleaks finding through",
      description:
        "Ask the human to approve one gitleaks finding that made the git gate refuse a push " +
        "(a false positive, or a test fixture). Give the fingerprint exactly as the refused " +
        "push printed it. Approved: push again. Waits like request_egress_host.",
      inputSchema: {
        fingerprint: z.string().describe('as gitleaks printed it: "<commit>:<file>:<rule>:<line>"'),
        reason: REASON,
      },
    },
    async (args, extra) => {
      const fingerprint = args.fingerprint.trim();
      const problem = validateFingerprint(fingerprint);
      if (problem !== null) return failure(problem);
      const request: ProposalRequest = { kind: "gitleaks-exception", fingerprint };
      return requestAndWait(options, request, args.reason, extra);
    },
  );
}

/** proposal_status: one proposal's state, waiting for its answer when asked to. */
function registerProposalStatus(server: McpServer, options: SuperviseServerOptions): void {
  server.registerTool(
    SUPERVISE_TOOLS.proposalStatus,
    {
      title: "Check a proposal",
      description:
        "The status of a proposal filed earlier (pending, approved or denied), by its id. " +
        "With wait_seconds, waits up to that long for a pending one to be answered.",
      inputSchema: {
        id: z.string().describe("the proposal id a request returned"),
        wait_seconds: z.number().int().min(0).max(3600).optional(),
      },
    },
    async (args, extra) => {
      const state = await options.queue.state(args.id.trim());
      if (state === null) return failure(`no proposal "${args.id}" in this bottle`);
      if (state.answer !== null || !args.wait_seconds) return success(statusOf(state));
      const waitMs = Math.min(args.wait_seconds * 1000, options.answerTimeoutMs);
      const answer = await waitWithProgress(options, state.proposal, waitMs, extra);
      return success(statusOf({ proposal: state.proposal, answer }, waitMs));
    },
  );
}

/** list_proposals: every proposal this bottle filed. */
function registerListProposals(server: McpServer, options: SuperviseServerOptions): void {
  server.registerTool(
    SUPERVISE_TOOLS.listProposals,
    {
      title: "List proposals",
      description: "Every proposal this sandbox filed, with its status, oldest first.",
    },
    async () => {
      const states = await options.queue.list();
      return success({ proposals: states.map((s) => statusOf(s)) });
    },
  );
}

/** show_policy: what the bottle may do now, as the host published it. */
function registerShowPolicy(server: McpServer, options: SuperviseServerOptions): void {
  server.registerTool(
    SUPERVISE_TOOLS.showPolicy,
    {
      title: "Show the sandbox's policy",
      description:
        "What this sandbox may do now: the hosts it may reach, the hosts whose credentials " +
        "are injected for it (routes; tokens are never shown), its git remotes and the " +
        "approved gitleaks exceptions.",
    },
    async () => {
      const policy = await options.queue.policy();
      if (policy === null) return failure("the host has not published this bottle's policy yet");
      return success(policy);
    },
  );
}

async function requestAndWait(
  options: SuperviseServerOptions,
  request: ProposalRequest,
  reason: string,
  extra: ToolExtra,
): Promise<CallToolResult> {
  let proposal: Proposal;
  try {
    ({ proposal } = await options.queue.submit(request, reason));
  } catch (error) {
    if (error instanceof PendingLimitError) return failure(error.message);
    throw error;
  }
  const answer = await waitWithProgress(options, proposal, options.answerTimeoutMs, extra);
  return success(statusOf({ proposal, answer }, options.answerTimeoutMs));
}

async function waitWithProgress(
  options: SuperviseServerOptions,
  proposal: Proposal,
  timeoutMs: number,
  extra: ToolExtra,
): Promise<Answer | null> {
  const token = extra._meta?.progressToken;
  const message = `proposal ${proposal.id} (${describeRequest(proposal.request)}) is waiting for the human (claude-bottle supervise)`;
  const progress = async (waitedMs: number) => {
    if (token === undefined || extra.signal.aborted) return;
    await extra
      .sendNotification({
        method: "notifications/progress",
        params: { progressToken: token, progress: Math.floor(waitedMs / 1000), message },
      })
      .catch(() => undefined);
  };
  // The first notification names the proposal, so a client whose call is cut off still learns its id.
  await progress(0);
  return options.queue.waitForAnswer(proposal.id, {
    timeoutMs,
    signal: extra.signal,
    onTick: progress,
    tickMs: options.progressEveryMs ?? 10_000,
  });
}

/** What a tool tells the agent about one proposal. */
export function statusOf(state: ProposalState, waitedMs?: number): Record<string, unknown> {
  const { proposal, answer } = state;
  const base = { id: proposal.id, request: describeRequest(proposal.request) };
  if (answer?.decision === "approved") {
    return {
      status: "approved",
      ...base,
      changes: answer.changes,
      reason: answer.reason,
      message: "Approved and already in force: retry what was refused.",
    };
  }
  if (answer?.decision === "denied") {
    return {
      status: "denied",
      ...base,
      reason: answer.reason,
      message: `Denied by the human: ${answer.reason ?? "no reason given"}. Do not ask again for the same thing unless something changed.`,
    };
  }
  const later =
    `Proposal ${proposal.id} stays pending; the human may still answer it. Check later with ` +
    `${SUPERVISE_TOOLS.proposalStatus} {"id": "${proposal.id}"} (add "wait_seconds" to wait); ` +
    "asking again for the same thing also resumes waiting on this proposal.";
  if (waitedMs === undefined) return { status: "pending", ...base, message: later };
  return {
    status: "timed_out",
    ...base,
    message: `No answer within ${formatDuration(waitedMs)}. ${later}`,
  };
}

function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 120) return `${seconds} seconds`;
  return `${Math.round(seconds / 60)} minutes`;
}

function success(payload: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(payload, null, 2) }],
    structuredContent: payload,
  };
}

function failure(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}
