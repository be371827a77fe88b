// The Kubernetes render of a minimal and a full bottle: every object passes the Kubernetes
// schema, the files match the goldens (update: `npx vitest run --project unit -u
// test/kubernetes`), the NetworkPolicies encode the Compose bottle's isolation, the pods
// its confinement, and no secret value ever appears.
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IPod } from "kubernetes-models/v1/Pod";
import { describe, expect, it } from "vitest";
import { renderApplyScript } from "../../src/backend/kubernetes/apply-script.js";
import {
  type KubernetesRenderInput,
  renderKubernetesBottle,
} from "../../src/backend/kubernetes/kubernetes-objects.js";
import { layOutKubernetesBottle } from "../../src/backend/kubernetes/kubernetes-renderer.js";
import { SERVICE_LABEL } from "../../src/backend/kubernetes/network-policies.js";
import { validateKubernetesObject } from "../../src/backend/kubernetes/validate-objects.js";
import { GIT_GATE_CAPABILITIES } from "../../src/core/compose.js";
import { INPUTS, renderInputOf } from "./kubernetes-inputs.js";

const SLUG_LABEL = "dev.claude-bottle.slug";
const full = () => renderInputOf(INPUTS.full());
const minimal = () => renderInputOf(INPUTS.minimal());

function objectsOf(input: KubernetesRenderInput) {
  return renderKubernetesBottle(input).files.flatMap((f) => f.objects);
}
function policies(input: KubernetesRenderInput): INetworkPolicy[] {
  return objectsOf(input).filter((o): o is INetworkPolicy => o.kind === "NetworkPolicy");
}
function pods(input: KubernetesRenderInput): IPod[] {
  return objectsOf(input).filter((o): o is IPod => o.kind === "Pod");
}
/** The policy that selects `service`'s pods. */
function policyOf(input: KubernetesRenderInput, service: string): INetworkPolicy {
  const found = policies(input).find(
    (p) => p.spec?.podSelector?.matchLabels?.[SERVICE_LABEL] === service,
  );
  if (found === undefined) throw new Error(`no policy for ${service}`);
  return found;
}
/** Which services' pods (by label) a rule's peers name; "outside" for an ipBlock. */
function peersOf(
  peers:
    | Array<{
        podSelector?: { matchLabels?: Record<string, string> };
        ipBlock?: unknown;
        namespaceSelector?: unknown;
      }>
    | undefined,
) {
  return (peers ?? []).map((p) =>
    p.ipBlock !== undefined
      ? "outside"
      : p.namespaceSelector !== undefined
        ? "cluster-dns"
        : (p.podSelector?.matchLabels?.[SERVICE_LABEL] ?? "?"),
  );
}

describe.each([
  ["minimal", minimal],
  ["full", full],
] as const)("the %s bottle", (name, input) => {
  it("passes the Kubernetes schema, object by object", () => {
    const objects = objectsOf(input());
    expect(objects.length).toBeGreaterThan(5);
    for (const object of objects) expect(() => validateKubernetesObject(object)).not.toThrow();
  });

  it("matches its golden files", async () => {
    for (const file of layOutKubernetesBottle(input()).files) {
      await expect(file.text).toMatchFileSnapshot(`golden/${name}/${file.name}`);
    }
  });

  it("labels every object with the bottle's slug, in the bottle's namespace", () => {
    for (const object of objectsOf(input())) {
      expect(object.metadata?.labels?.[SLUG_LABEL], `${object.kind}/${object.metadata?.name}`).toBe(
        "dev-agent-7f3a",
      );
      if (object.kind !== "Namespace")
        expect(object.metadata?.namespace).toBe("claude-bottle-dev-agent-7f3a");
    }
  });

  it("denies all ingress and egress by default", () => {
    const deny = policies(input()).find((p) => p.metadata?.name === "default-deny");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("confines every pod: no token, seccomp, no privilege gain, capabilities dropped", () => {
    for (const pod of pods(input())) {
      const spec = pod.spec;
      const service = pod.metadata?.labels?.[SERVICE_LABEL];
      expect(spec?.automountServiceAccountToken).toBe(false);
      expect(spec?.securityContext?.seccompProfile).toEqual({ type: "RuntimeDefault" });
      for (const c of spec?.containers ?? []) {
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext?.capabilities?.drop).toEqual(["ALL"]);
        if (service === "git-gate") {
          expect(c.securityContext?.capabilities?.add).toEqual([...GIT_GATE_CAPABILITIES]);
        } else {
          expect(c.securityContext?.capabilities?.add).toBeUndefined();
          expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
          expect(spec?.securityContext?.runAsNonRoot).toBe(true);
        }
      }
    }
  });
});

describe("the NetworkPolicies of the full bottle", () => {
  it("let the agent reach its sidecars only, each on its port, and nothing reach the agent", () => {
    const agent = policyOf(full(), "agent");
    expect(agent.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    expect(agent.spec?.ingress).toEqual([]);
    const egress = agent.spec?.egress ?? [];
    expect(egress.map((r) => [peersOf(r.to), r.ports?.map((p) => p.port)])).toEqual([
      [["pipelock"], [8888]],
      [["git-gate"], [9418]],
      [["egress"], [8080]],
      [["supervise"], [8765]],
    ]);
  });

  it("give the agent no DNS: only pipelock and git-gate reach the cluster DNS", () => {
    const withDns = ["agent", "pipelock", "egress", "git-gate", "supervise"].filter((s) =>
      (policyOf(full(), s).spec?.egress ?? []).some((r) => peersOf(r.to).includes("cluster-dns")),
    );
    expect(withDns).toEqual(["pipelock", "git-gate"]);
  });

  it("let only pipelock out on any port; git-gate out on its upstreams' ssh port only", () => {
    const out = (s: string) =>
      (policyOf(full(), s).spec?.egress ?? []).filter((r) => peersOf(r.to).includes("outside"));
    expect(out("pipelock").map((r) => r.ports)).toEqual([undefined]);
    expect(out("git-gate").map((r) => r.ports)).toEqual([[{ protocol: "TCP", port: 2222 }]]);
    for (const s of ["agent", "egress", "supervise"]) expect(out(s)).toEqual([]);
  });

  it("keep outside addresses off the cluster, the LAN and cloud metadata", () => {
    const rule = (policyOf(full(), "pipelock").spec?.egress ?? [])[0];
    expect(rule?.to?.[0]?.ipBlock).toEqual({
      cidr: "0.0.0.0/0",
      except: ["169.254.0.0/16", "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.168.0.0/16"],
    });
  });

  it("let egress reach pipelock only, and supervise nothing", () => {
    expect(
      (policyOf(full(), "egress").spec?.egress ?? []).map((r) => [
        peersOf(r.to),
        r.ports?.map((p) => p.port),
      ]),
    ).toEqual([[["pipelock"], [8888]]]);
    expect(policyOf(full(), "supervise").spec?.egress).toEqual([]);
  });

  it("admit into each sidecar only its clients", () => {
    const from = (s: string) =>
      (policyOf(full(), s).spec?.ingress ?? []).flatMap((r) => peersOf(r.from));
    expect(from("pipelock")).toEqual(["agent", "egress"]);
    expect(from("egress")).toEqual(["agent"]);
    expect(from("git-gate")).toEqual(["agent"]);
    expect(from("supervise")).toEqual(["agent"]);
  });
});

describe("secrets", () => {
  it("no secret value of the environment reaches any rendered byte or the script", () => {
    const canaries = ["canary-token-5Tg8Lm2Qx", "canary-forwarded-9Vb3Nc7"];
    // Values the planner could see, were it to look: it must not.
    const saved = { ...process.env };
    process.env.API_TOKEN = canaries[0];
    process.env.HOST_FORWARDED = canaries[1];
    try {
      const text = layOutKubernetesBottle(full())
        .files.map((f) => f.text)
        .join("\n");
      for (const canary of canaries) expect(text).not.toContain(canary);
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the script's shell expansion, by name
      expect(text).toContain("printf '%s' \"${API_TOKEN}\"");
    } finally {
      process.env = saved;
    }
  });

  it("only the bottle's own CA keys are rendered as Secret data, in the file marked secret", () => {
    const bottle = renderKubernetesBottle(full());
    const withData = bottle.files.flatMap((f) =>
      f.objects.filter((o) => o.kind === "Secret").map((o) => [f.name, f.secret, o.metadata?.name]),
    );
    expect(withData).toEqual([
      ["30-ca-keys.yaml", true, "pipelock-ca-key"],
      ["30-ca-keys.yaml", true, "egress-ca-key"],
    ]);
    expect(bottle.secrets.map((s) => s.name)).toEqual([
      "pipelock-env",
      "git-gate-keys",
      "git-gate-env",
      "egress-env",
      "agent-env",
    ]);
  });

  it("creates the file of Secrets, never applies it (apply copies values into an annotation)", () => {
    const bottle = renderKubernetesBottle(full());
    const script = renderApplyScript(bottle);
    for (const f of bottle.files.filter((x) => x.secret)) {
      expect(script).not.toMatch(new RegExp(`kubectl apply[^\n]*${f.name}`));
      expect(script).toContain(`kubectl create -f ${f.name}\n`);
    }
    // Every other file is applied, and only apply and create ever read a file.
    expect(script.match(/kubectl (?:apply|create) -f \S+/g)?.length).toBe(
      bottle.files.filter((f) => f.objects.length > 0).length,
    );
  });

  it("never lets a node pull an image: they are local tags a public registry could also hold", () => {
    for (const pod of pods(full())) {
      for (const c of pod.spec?.containers ?? []) expect(c.imagePullPolicy).toBe("Never");
    }
  });
});

describe("validation", () => {
  it("refuses an object the schema refuses, naming it", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "x" },
      spec: { containers: [{ name: "x", image: 3 }] },
    };
    expect(() => validateKubernetesObject(pod as unknown as IPod)).toThrow(
      "rendered Pod/x fails the Kubernetes schema: data/spec/containers/0/image must be string",
    );
  });
});
