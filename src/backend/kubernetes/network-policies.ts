// The bottle's network as NetworkPolicies: everything denied in its namespace, then one
// policy per service that opens exactly what the Compose bottle's two networks allow. The
// agent reaches only its sidecars (no DNS: names come as hostAliases, see apply-script.ts);
// egress reaches only pipelock; supervise reaches nothing; pipelock and git-gate (which
// Compose puts on the egress network) reach outside addresses and the cluster DNS.
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { INetworkPolicyEgressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyEgressRule";
import type { INetworkPolicyIngressRule } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyIngressRule";
import type { INetworkPolicyPeer } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer";
import { BOTTLE_SLUG_LABEL } from "../../contracts/agent.js";
import { EGRESS_PORT } from "../../contracts/egress.js";
import { GIT_GATE_PORT } from "../../contracts/git-gate.js";
import { PIPELOCK_PORT } from "../../contracts/pipelock.js";
import { SUPERVISE_PORT } from "../../contracts/supervise.js";
import type { PipelockPolicy } from "../../core/bottle-blueprint.js";
import type { ServiceName } from "../../core/bottle-mounts.js";
import type { DockerBottlePlan } from "../../core/bottle-plan.js";

/** Which service of the bottle a pod runs; NetworkPolicies and Services select by it. */
export const SERVICE_LABEL = "dev.claude-bottle.service";

export type Sidecar = Exclude<ServiceName, "agent">;

/** The port each sidecar serves the bottle on (src/contracts). */
export const SIDECAR_PORTS: Record<Sidecar, number> = {
  pipelock: PIPELOCK_PORT,
  egress: EGRESS_PORT,
  "git-gate": GIT_GATE_PORT,
  supervise: SUPERVISE_PORT,
};
const PORTS = SIDECAR_PORTS;

/** Never reachable from a bottle: link-local holds cloud metadata endpoints. */
const LINK_LOCAL = { v4: ["169.254.0.0/16"], v6: ["fe80::/10"] };
/** Private and shared ranges: the cluster's own pods and services, the nodes, the LAN. */
const PRIVATE = {
  v4: ["10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"],
  v6: ["fc00::/7"],
};

export interface NetworkPolicyInput {
  plan: DockerBottlePlan;
  pipelockPolicy: Pick<PipelockPolicy, "privateUpstreams">;
  sidecars: readonly Sidecar[];
  meta: (name: string) => INetworkPolicy["metadata"];
}

export function bottleNetworkPolicies(input: NetworkPolicyInput): INetworkPolicy[] {
  const { plan, sidecars, meta } = input;
  const slug = plan.slug;
  const pods = (service: ServiceName): INetworkPolicyPeer => ({
    podSelector: { matchLabels: { [BOTTLE_SLUG_LABEL]: slug, [SERVICE_LABEL]: service } },
  });
  const selector = (service: ServiceName) => ({
    matchLabels: { [BOTTLE_SLUG_LABEL]: slug, [SERVICE_LABEL]: service },
  });
  const tcp = (port: number) => ({ protocol: "TCP" as const, port });
  const policy = (
    service: ServiceName,
    rules: { ingress: INetworkPolicyIngressRule[]; egress: INetworkPolicyEgressRule[] },
  ): INetworkPolicy => ({
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: meta(service),
    spec: {
      podSelector: selector(service),
      policyTypes: ["Ingress", "Egress"],
      ingress: rules.ingress,
      egress: rules.egress,
    },
  });
  const outside = outsidePeers(input.pipelockPolicy.privateUpstreams === "allow");
  const dns: INetworkPolicyEgressRule = {
    to: [
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
    ],
    ports: [
      { protocol: "UDP" as const, port: 53 },
      { protocol: "TCP" as const, port: 53 },
    ],
  };

  const policies: INetworkPolicy[] = [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: meta("default-deny"),
      spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
    },
    policy("agent", {
      ingress: [],
      egress: sidecars.map((s) => ({ to: [pods(s)], ports: [tcp(PORTS[s])] })),
    }),
  ];
  const clients = (s: Sidecar): INetworkPolicyPeer[] =>
    s === "pipelock" && sidecars.includes("egress")
      ? [pods("agent"), pods("egress")]
      : [pods("agent")];
  for (const s of sidecars) {
    const ingress = [{ from: clients(s), ports: [tcp(PORTS[s])] }];
    if (s === "pipelock") {
      policies.push(policy(s, { ingress, egress: [{ to: outside }, dns] }));
    } else if (s === "git-gate") {
      const ports = [...new Set(plan.gitGatePlan.upstreams.map((u) => sshPort(u.url)))].sort(
        (a, b) => a - b,
      );
      policies.push(policy(s, { ingress, egress: [{ to: outside, ports: ports.map(tcp) }, dns] }));
    } else if (s === "egress") {
      policies.push(
        policy(s, { ingress, egress: [{ to: [pods("pipelock")], ports: [tcp(PORTS.pipelock)] }] }),
      );
    } else {
      policies.push(policy(s, { ingress, egress: [] }));
    }
  }
  return policies;
}

/** Every address outside the cluster: all but link-local, and all but private ranges unless allowed. */
function outsidePeers(allowPrivate: boolean): INetworkPolicyPeer[] {
  const v4 = [...LINK_LOCAL.v4, ...(allowPrivate ? [] : PRIVATE.v4)];
  const v6 = [...LINK_LOCAL.v6, ...(allowPrivate ? [] : PRIVATE.v6)];
  return [
    { ipBlock: { cidr: "0.0.0.0/0", except: v4 } },
    { ipBlock: { cidr: "::/0", except: v6 } },
  ];
}

export function sshPort(url: string): number {
  const port = new URL(url).port;
  return port === "" ? 22 : Number(port);
}
