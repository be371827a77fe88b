// The two bottles the Kubernetes render is tested with: a minimal one (pipelock and the
// agent only) and a full one (a route, a forwarded variable, a git upstream, supervise),
// with staged files whose random parts (CA keys) are fixed stand-ins.

import { initialPolicySnapshot } from "../../src/approval/policy-snapshot.js";
import type { KubernetesRenderInput } from "../../src/backend/kubernetes/kubernetes-objects.js";
import { planBottle } from "../../src/core/bottle-blueprint.js";
import type { ResolvedAgent } from "../../src/manifest/index.js";
import { AT, allowHost, resolvedAgent, route } from "../support/fixtures/agent-fixture.js";

export const NOW = new Date("2026-01-02T03:04:05.000Z");
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH2nq0ihOxHhOWxEHkPrGrRL0xOBbtVeZSX+w+y9pGzK";

export const INPUTS: Record<"minimal" | "full", () => ResolvedAgent> = {
  minimal: () => resolvedAgent({ supervise: false }),
  full: () =>
    resolvedAgent({
      env: {
        TZ: { kind: "literal", value: "UTC", declaredAt: AT },
        FORWARDED: { kind: "fromEnv", hostName: "HOST_FORWARDED", declaredAt: AT },
      },
      egress: {
        allow: [allowHost("docs.example.test")],
        routes: [route("api.example.test", { auth: { scheme: "Bearer", tokenEnv: "API_TOKEN" } })],
      },
      git: [
        {
          name: "app",
          url: "ssh://git@git.example.test:2222/team/app.git",
          host: "git.example.test",
          port: 2222,
          identityFile: "/home/dev/.ssh/app_ed25519",
          knownHostKey: { type: "ssh-ed25519", key: HOST_KEY.split(" ")[1] ?? "", line: HOST_KEY },
          declaredAt: AT,
        },
      ],
      supervise: true,
    }),
};

/** The render input of an agent, with every staged file's content named for what it is. */
export function renderInputOf(agent: ResolvedAgent): KubernetesRenderInput {
  const blueprint = planBottle(agent, {
    suffix: "7f3a",
    home: "/home/dev/.claude-bottle",
    buildContext: "/opt/claude-bottle",
    useRunsc: false,
    agentPackage: null,
    allowPrivateUpstreams: false,
    upstreamCaPath: null,
  });
  const { plan } = blueprint;
  const pem = (what: string) => `-----BEGIN ${what}-----\nstand-in\n-----END ${what}-----\n`;
  const files = [
    { path: plan.proxyPlan.caCertHostPath, content: pem("CERTIFICATE"), mode: 0o644 },
    { path: plan.proxyPlan.caKeyHostPath, content: pem("PRIVATE KEY"), mode: 0o600 },
    { path: plan.proxyPlan.configPath, content: "allow: []\n", mode: 0o644 },
    { path: plan.egressPlan.caCertHostPath, content: pem("CERTIFICATE"), mode: 0o644 },
    { path: plan.egressPlan.caKeyHostPath, content: pem("PRIVATE KEY"), mode: 0o600 },
    { path: plan.egressPlan.routesPath, content: "routes: []\n", mode: 0o644 },
    { path: plan.gitGatePlan.entrypointScript, content: "#!/bin/sh\n# entrypoint\n", mode: 0o755 },
    { path: plan.gitGatePlan.hookScript, content: "#!/bin/sh\n# pre-receive\n", mode: 0o755 },
    { path: plan.gitGatePlan.accessHookScript, content: "#!/bin/sh\n# access-hook\n", mode: 0o755 },
    { path: plan.gitGatePlan.upstreamsConfigPath, content: '{"upstreams":[]}\n', mode: 0o644 },
  ];
  return {
    blueprint,
    staged: { files, agentCaBundle: pem("CERTIFICATE") },
    policySnapshot: `${JSON.stringify(initialPolicySnapshot(blueprint, NOW), null, 2)}\n`,
  };
}
