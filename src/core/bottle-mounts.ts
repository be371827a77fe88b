// Every file and directory that reaches a bottle's services from outside their images: where
// the plan keeps it, where the service reads it, and what it is. One table for every backend:
// Compose bind-mounts each entry; an engine without the host's disk (a swarm node, a cluster)
// ships a `file` as a config or a secret and needs another way for a `live` directory.
// Pure: names paths, reads nothing.
import { AGENT_PACKAGE_IN_CONTAINER } from "../agents/agent-provider.js";
import {
  EGRESS_CA_IN_CONTAINER,
  EGRESS_CA_KEY_IN_CONTAINER,
  EGRESS_PIPELOCK_CA_IN_CONTAINER,
  EGRESS_ROUTES_IN_CONTAINER,
} from "../contracts/egress.js";
import {
  GIT_GATE_ACCESS_HOOK_IN_CONTAINER,
  GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER,
  GIT_GATE_ENTRYPOINT_IN_CONTAINER,
  GIT_GATE_HOOK_IN_CONTAINER,
  GIT_GATE_UPSTREAMS_IN_CONTAINER,
  gitGateIdentityPath,
} from "../contracts/git-gate.js";
import {
  PIPELOCK_CA_CERT_IN_CONTAINER,
  PIPELOCK_CA_KEY_IN_CONTAINER,
  PIPELOCK_CONFIG_IN_CONTAINER,
  PIPELOCK_UPSTREAM_CA_IN_CONTAINER,
} from "../contracts/pipelock.js";
import { CURRENT_CONFIG_DIR_IN_AGENT, QUEUE_DIR_IN_CONTAINER } from "../contracts/supervise.js";
import type { DockerBottlePlan } from "./bottle-plan.js";

export type ServiceName = "agent" | "pipelock" | "egress" | "git-gate" | "supervise";

/**
 * - `file`: written once before the bottle starts; a key when `secret`.
 * - `live`: a directory the host keeps changing while the bottle runs (approvals, the policy
 *   the agent may read, the proposal queue); `writable` when the service writes into it.
 * - `program`: the agent program from the host's cache, shared read-only by every bottle.
 */
export type MountKind = "file" | "live" | "program";

export interface BottleMount {
  service: ServiceName;
  /** Where the plan keeps it on the host (a path under the bottle's state directory). */
  source: string;
  /** Where the service reads it. */
  target: string;
  kind: MountKind;
  /** A private key: never in a config, a log or an image; only in a secret store. */
  secret: boolean;
  /** The service writes into it (the supervise queue). */
  writable: boolean;
  /** The user's own file (a deploy key, a private CA), read where it is; else staged. */
  fromUser: boolean;
  /** A directory (its files may come and go); else a single file. */
  directory: boolean;
  /** A program the service runs (the gate's entrypoint and hooks): it must stay executable. */
  executable: boolean;
}

export function hasGitGate(plan: DockerBottlePlan): boolean {
  return plan.gitGatePlan.upstreams.length > 0;
}

export function hasEgress(plan: DockerBottlePlan): boolean {
  return plan.egressPlan.routes.length > 0;
}

type AddMount = (
  service: ServiceName,
  source: string,
  target: string,
  kind?: MountKind,
  flags?: Partial<
    Pick<BottleMount, "secret" | "writable" | "fromUser" | "directory" | "executable">
  >,
) => void;

/** Every mount of the bottle, service by service, in the order each service lists them. */
export function bottleMounts(plan: DockerBottlePlan): BottleMount[] {
  const mounts: BottleMount[] = [];
  const add: AddMount = (service, source, target, kind = "file", flags = {}) =>
    mounts.push({
      service,
      source,
      target,
      kind,
      secret: flags.secret ?? false,
      writable: flags.writable ?? false,
      fromUser: flags.fromUser ?? false,
      directory: flags.directory ?? false,
      executable: flags.executable ?? false,
    });
  const pp = plan.proxyPlan;
  add("pipelock", pp.configPath, PIPELOCK_CONFIG_IN_CONTAINER, "live");
  add("pipelock", pp.caCertHostPath, PIPELOCK_CA_CERT_IN_CONTAINER);
  add("pipelock", pp.caKeyHostPath, PIPELOCK_CA_KEY_IN_CONTAINER, "file", { secret: true });
  if (pp.upstreamCaPath !== null)
    add("pipelock", pp.upstreamCaPath, PIPELOCK_UPSTREAM_CA_IN_CONTAINER, "file", {
      fromUser: true,
    });
  if (hasGitGate(plan)) gitGateMounts(plan, add);
  if (hasEgress(plan)) {
    const ep = plan.egressPlan;
    add("egress", ep.routesPath, EGRESS_ROUTES_IN_CONTAINER);
    add("egress", ep.caCertHostPath, EGRESS_CA_IN_CONTAINER);
    add("egress", ep.caKeyHostPath, EGRESS_CA_KEY_IN_CONTAINER, "file", { secret: true });
    add("egress", ep.pipelockCaHostPath, EGRESS_PIPELOCK_CA_IN_CONTAINER);
  }
  if (plan.supervisePlan !== null) {
    const sp = plan.supervisePlan;
    add("supervise", sp.queueDir, QUEUE_DIR_IN_CONTAINER, "live", {
      writable: true,
      directory: true,
    });
    add("agent", sp.currentConfigDir, CURRENT_CONFIG_DIR_IN_AGENT, "live", { directory: true });
  }
  // The agent program, from the host's cache: read-only, shared by every bottle that runs it.
  if (plan.agentPackage !== null) {
    add("agent", plan.agentPackage.hostDir, AGENT_PACKAGE_IN_CONTAINER, "program", {
      fromUser: true,
      directory: true,
    });
  }
  return mounts;
}

function gitGateMounts(plan: DockerBottlePlan, add: AddMount): void {
  const gp = plan.gitGatePlan;
  // Executable, or git would skip the hooks and let pushes through unscanned.
  add("git-gate", gp.entrypointScript, GIT_GATE_ENTRYPOINT_IN_CONTAINER, "file", {
    executable: true,
  });
  add("git-gate", gp.hookScript, GIT_GATE_HOOK_IN_CONTAINER, "file", { executable: true });
  add("git-gate", gp.accessHookScript, GIT_GATE_ACCESS_HOOK_IN_CONTAINER, "file", {
    executable: true,
  });
  add("git-gate", gp.upstreamsConfigPath, GIT_GATE_UPSTREAMS_IN_CONTAINER);
  add("git-gate", gp.allowlistDir, GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER, "live", {
    directory: true,
  });
  for (const u of gp.upstreams) {
    add("git-gate", u.identityFile, gitGateIdentityPath(u.name), "file", {
      secret: true,
      fromUser: true,
    });
  }
}

export function mountsOf(plan: DockerBottlePlan, service: ServiceName): BottleMount[] {
  return bottleMounts(plan).filter((m) => m.service === service);
}
