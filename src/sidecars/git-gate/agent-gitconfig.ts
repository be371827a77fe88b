// Renders the gitconfig fragment that routes the agent's git through the gate: every
// declared upstream's ssh URL is rewritten (insteadOf, for fetch and push alike) to the
// gate's git:// URL, so `git clone ssh://…` inside the agent just works. Pure. It must
// never name an identity file: the agent holds no credential for any upstream.
import { gitGateRepoUrl } from "../../contracts/git-gate.js";

export interface AgentGitUpstream {
  name: string;
  /** ssh://[user@]host[:port]/path */
  url: string;
}

export function renderAgentGitConfig(slug: string, upstreams: readonly AgentGitUpstream[]): string {
  const sections = upstreams.map((u) => {
    const lines = [`[url ${quote(gitGateRepoUrl(slug, u.name))}]`];
    for (const form of upstreamUrlForms(u.url)) lines.push(`\tinsteadOf = ${quote(form)}`);
    return lines.join("\n");
  });
  return sections.length === 0 ? "" : `${sections.join("\n")}\n`;
}

/**
 * The spellings of one ssh URL a person or tool may use: as declared, without or with
 * ".git", and scp-like on port 22, both "host:/path" (the same path) and "host:path"
 * (how hosting services spell it). git picks the longest matching insteadOf prefix, so
 * "…/app.git" wins over "…/app" for the same repository.
 */
export function upstreamUrlForms(url: string): string[] {
  const bare = url.replace(/\/+$/, "").replace(/\.git$/, "");
  const forms = [url, bare, `${bare}.git`];
  const ssh = /^ssh:\/\/((?:[^@/]+@)?[^/:[\]]+)(?::22)?(\/.+)$/.exec(bare);
  if (ssh?.[1] !== undefined && ssh[2] !== undefined) {
    const [, userHost, path] = ssh;
    for (const scpPath of [path, path.slice(1)]) {
      forms.push(`${userHost}:${scpPath}`, `${userHost}:${scpPath}.git`);
    }
  }
  return [...new Set(forms)];
}

/** A gitconfig value or subsection name in double quotes, with " and \ escaped. */
function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}
