// Parses a git upstream's URL: only ssh:// URLs, since the gate pushes with the bottle's
// identity file and pinned host key. Other forms get the ssh:// spelling as the fix.
import { isHostname } from "./host-pattern.js";
import { type ParseResult, parsed, refused } from "./parse-result.js";

export interface SshUrl {
  url: string;
  user: string | null;
  host: string;
  port: number | null;
  /** The repository path, starting with "/". */
  path: string;
}

export function parseSshUrl(text: string): ParseResult<SshUrl> {
  // Checked first so that the error never echoes a password.
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(text)) {
    return refused(
      "has a password in it; never write secrets in a manifest: the gate authenticates with identity_file",
    );
  }
  if (!text.startsWith("ssh://")) return refused(notSsh(text));
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return refused(`"${text}" is not a valid URL; e.g. ${EXAMPLE}`);
  }
  const host = url.hostname.toLowerCase();
  if (!isHostname(host) && !/^\[[0-9a-f:.]+\]$/.test(host)) {
    return refused(`"${text}" has no valid host; e.g. ${EXAMPLE}`);
  }
  if (url.pathname === "" || url.pathname === "/" || url.search !== "" || url.hash !== "") {
    return refused(`"${text}" names no repository path; e.g. ${EXAMPLE}`);
  }
  return parsed({
    url: text,
    user: url.username === "" ? null : decodeURIComponent(url.username),
    host,
    port: url.port === "" ? null : Number(url.port),
    path: url.pathname,
  });
}

const EXAMPLE = "ssh://git@git.example.test/team/repo.git";

function notSsh(text: string): string {
  const https = /^https?:\/\/(?:[^@/]*@)?([^/]+)\/(.+)$/.exec(text);
  const scp = /^([\w.-]+)@([\w.-]+):(?!\/)(.+)$/.exec(text);
  const suggestion = https
    ? `ssh://git@${https[1]}/${https[2]}`
    : scp
      ? `ssh://${scp[1]}@${scp[2]}/${scp[3]}`
      : EXAMPLE;
  return `"${text}" is not an ssh:// URL; the gate pushes over SSH only: write ${suggestion}`;
}
