// The files of the supervise queue, as both sides read and write them: proposals (written by
// the sidecar), claims and answers (written by the host) and the policy snapshot (written by
// the host). One zod schema per file is the single source of its type and its validation:
// each side validates what the other wrote before acting on it.
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { validateEgressHost, validateFingerprint } from "./request-validation.js";

/** Proposal ids are file names: lowercase letters and digits only, so no path can hide in one. */
export const PROPOSAL_ID = /^[a-z0-9]{4,32}$/;

export function isProposalId(text: string): boolean {
  return PROPOSAL_ID.test(text);
}

/** 10 random base-36 characters: short enough to type, unique enough for one machine. */
export function newProposalId(random: (n: number) => Buffer = randomBytes): string {
  const bytes = random(10);
  const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
  let id = "";
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

const isoTime = z.iso.datetime({ offset: true });
const reasonText = z.string().trim().min(1, "must not be empty").max(4000);

const egressHostRequest = z
  .strictObject({
    kind: z.literal("egress-host"),
    host: z.string(),
    /** Null: the default web ports, 443 and 80. */
    port: z.number().int().min(1).max(65535).nullable(),
  })
  .superRefine((r, ctx) => {
    const problem = validateEgressHost(r.host);
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["host"], message: problem });
  });

const gitleaksExceptionRequest = z
  .strictObject({
    kind: z.literal("gitleaks-exception"),
    /** As gitleaks prints it: "<commit>:<file>:<rule>:<line>". */
    fingerprint: z.string(),
  })
  .superRefine((r, ctx) => {
    const problem = validateFingerprint(r.fingerprint);
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["fingerprint"], message: problem });
  });

export const ProposalRequestSchema = z.discriminatedUnion("kind", [
  egressHostRequest,
  gitleaksExceptionRequest,
]);
export type ProposalRequest = z.infer<typeof ProposalRequestSchema>;
export type ProposalKind = ProposalRequest["kind"];

export const ProposalSchema = z.strictObject({
  version: z.literal(1),
  id: z.string().regex(PROPOSAL_ID),
  slug: z.string().min(1),
  createdAt: isoTime,
  request: ProposalRequestSchema,
  reason: reasonText,
});
export type Proposal = z.infer<typeof ProposalSchema>;

export const DECISIONS = ["approved", "denied"] as const;
export type Decision = (typeof DECISIONS)[number];

/** What a claim and its answer both say: which proposal, what was decided, by whom and why. */
const decisionFields = {
  version: z.literal(1),
  id: z.string().regex(PROPOSAL_ID),
  decision: z.enum(DECISIONS),
  /** The human's words; required for a denial. */
  reason: z.string().nullable(),
  by: z.string().min(1),
};

/** Written by the host with an exclusive create before it applies anything: one decision per proposal. */
export const ClaimSchema = z.strictObject({
  ...decisionFields,
  pid: z.number().int(),
  hostname: z.string(),
  at: isoTime,
});
export type Claim = z.infer<typeof ClaimSchema>;

/** Written by the host once the decision is applied and audited; the sidecar waits for it. */
export const AnswerSchema = z.strictObject({
  ...decisionFields,
  decidedAt: isoTime,
  /** What the approval changed, one line each ("added api.example.test to pipelock's allowlist"). */
  changes: z.array(z.string()),
});
export type Answer = z.infer<typeof AnswerSchema>;

/** The bottle's policy as the agent may read it: never a token, never a path to a key. */
export const PolicySnapshotSchema = z.strictObject({
  version: z.literal(1),
  slug: z.string().min(1),
  updatedAt: isoTime,
  egress: z.strictObject({
    /** pipelock's allowlist patterns. */
    allow: z.array(z.string()),
    dlp: z.enum(["block", "warn"]).nullable(),
    /** Hosts whose credentials egress injects; which token is not said. */
    routes: z.array(
      z.strictObject({
        host: z.string(),
        paths: z.array(z.string()),
        methods: z.union([z.literal("all"), z.array(z.string())]),
      }),
    ),
  }),
  git: z.strictObject({
    remotes: z.array(
      z.strictObject({ name: z.string(), url: z.string(), gateUrl: z.string().nullable() }),
    ),
    /** Approved gitleaks fingerprints. */
    gitleaksExceptions: z.array(z.string()),
  }),
});
export type PolicySnapshot = z.infer<typeof PolicySnapshotSchema>;

/** A one-line description of what a proposal asks for. */
export function describeRequest(request: ProposalRequest): string {
  if (request.kind === "egress-host") {
    const ports = request.port === null ? "ports 443 and 80" : `port ${request.port}`;
    return `egress to ${request.host} (${ports})`;
  }
  return `gitleaks exception for ${request.fingerprint}`;
}
