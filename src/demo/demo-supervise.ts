// The demo's supervision step: the agent is refused a host, asks for it through the
// supervise MCP server (a minimal Streamable HTTP client run inside the agent), the demo
// approves it as the human would, and the agent's retry goes through in the same bottle.

import { decideProposal } from "../approval/decide-proposal.js";
import { scanProposals } from "../approval/host-queue.js";
import { supervisedBottle } from "../approval/supervised-bottle.js";
import { backendNamed } from "../backend/backends.js";
import type { LaunchContext } from "../backend/start-plan.js";
import { DEMO_HOSTS } from "./demo-manifests.js";
import type { DemoRig, DemoStepResult } from "./demo-steps.js";

/** JSON-RPC over Streamable HTTP, as an MCP client speaks it; prints the tool result. */
const MCP_CLIENT = `
const url = "http://supervise:8765/mcp";
const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
async function rpc(body, session) {
  const res = await fetch(url, { method: "POST", headers: { ...headers, ...(session ? { "mcp-session-id": session } : {}) }, body: JSON.stringify(body) });
  const sid = res.headers.get("mcp-session-id");
  if (res.status === 202) return { sid, msg: null };
  const text = await res.text();
  if (!(res.headers.get("content-type") || "").includes("text/event-stream")) return { sid, msg: JSON.parse(text) };
  let msg = null;
  for (const event of text.split("\\n\\n")) {
    const data = event.split("\\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("");
    if (data) { const m = JSON.parse(data); if (m.id === body.id) msg = m; }
  }
  return { sid, msg };
}
const init = await rpc({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-03-26", capabilities: {}, clientInfo: { name: "claude-bottle-demo", version: "1" } } });
await rpc({ jsonrpc: "2.0", method: "notifications/initialized" }, init.sid);
const call = await rpc({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "request_egress_host", arguments: { host: process.argv[2], reason: "the demo task needs its status page" } } }, init.sid);
console.log(JSON.stringify(call.msg));
`;

export async function superviseApproval(
  rig: DemoRig,
  where: { home: string; slug: string; launch: LaunchContext },
): Promise<DemoStepResult> {
  const title = `the agent asks for ${DEMO_HOSTS.later}; an approval opens it live`;
  const curl = `curl -sS -m 15 -o /dev/null -w '%{http_code}' https://${DEMO_HOSTS.later}/status`;
  const docker = rig.docker;
  const before = await docker.run(
    ["exec", "-u", "agent", rig.agentContainer, "sh", "-c", `${curl} 2>/dev/null || true`],
    {
      allowFailure: true,
    },
  );
  if (before.stdout.trim() === "200")
    return { title, ok: false, detail: "the host was reachable before any approval" };

  const asking = docker.run(
    [
      "exec",
      "-i",
      "-u",
      "agent",
      rig.agentContainer,
      "node",
      "--input-type=module",
      "-",
      DEMO_HOSTS.later,
    ],
    { input: MCP_CLIENT, allowFailure: true },
  );
  const bottle = supervisedBottle(where.home, where.slug);
  const deadline = Date.now() + 60_000;
  let approved = false;
  while (!approved && Date.now() < deadline) {
    const pending = (await scanProposals([bottle])).proposals.find(
      (p) =>
        p.status === "pending" &&
        p.proposal.request.kind === "egress-host" &&
        p.proposal.request.host === DEMO_HOSTS.later,
    );
    if (pending) {
      await decideProposal(
        {
          backendOf: (name) => backendNamed(name, where.launch),
          now: where.launch.now,
          actor: "claude-bottle demo",
        },
        pending,
        { decision: "approved", reason: "fine for the demo" },
      );
      approved = true;
    } else {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  const answer = await asking;
  const after = await docker.run(["exec", "-u", "agent", rig.agentContainer, "sh", "-c", curl], {
    allowFailure: true,
  });
  const toolSaid = /approved/i.test(answer.stdout);
  const ok = approved && toolSaid && after.stdout.trim() === "200";
  return {
    title,
    ok,
    detail: ok
      ? `403 before; the tool returned approved; the retry got ${after.stdout.trim()}`
      : !approved
        ? "no proposal reached the host's queue"
        : `tool said: ${answer.stdout.trim().slice(0, 160) || answer.stderr.trim().slice(0, 160)}; retry got ${after.stdout.trim()}`,
  };
}
