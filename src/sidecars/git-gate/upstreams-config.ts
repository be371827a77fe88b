// Renders the gate's upstream list (GIT_GATE_UPSTREAMS_IN_CONTAINER): for each upstream
// its name, ssh URL and the one known_hosts line that pins its host key. Pure. It must
// never carry an identity file or a path to one: those arrive as separate mounts.

/** What the gate needs of one upstream; a plan's GitUpstream fits as is. */
export interface GitGateUpstream {
  name: string;
  /** ssh://[user@]host[:port]/path */
  url: string;
  /** "type base64" as in a known_hosts line, without the host, e.g. "ssh-ed25519 AAAA…". */
  knownHostKey: string;
}

/** The file's shape, spelled as the entrypoint reads it with jq. */
export interface GitGateUpstreamsFile {
  upstreams: Array<{ name: string; url: string; knownHosts: string }>;
}

export function renderGitGateUpstreams(upstreams: readonly GitGateUpstream[]): string {
  const file: GitGateUpstreamsFile = {
    upstreams: upstreams.map((u) => ({
      name: u.name,
      url: u.url,
      knownHosts: knownHostsLine(u.url, u.knownHostKey),
    })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * The known_hosts line ssh checks for this URL: the host alone on port 22, "[host]:port"
 * otherwise (ssh looks a non-default port up only in that form).
 */
export function knownHostsLine(url: string, knownHostKey: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new Error(`git upstream URL "${url}" is not a URL`, { cause });
  }
  if (parsed.protocol !== "ssh:" || parsed.hostname === "") {
    throw new Error(`git upstream URL "${url}" must look like ssh://git@host/path`);
  }
  const key = knownHostKey.trim().split(/\s+/);
  if (key.length < 2 || !/^(ssh-|ecdsa-|sk-)/.test(key[0] ?? "")) {
    throw new Error(
      `known host key for ${url} must be "<type> <base64>" like "ssh-ed25519 AAAA…", got "${knownHostKey}"`,
    );
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const pattern = parsed.port === "" || parsed.port === "22" ? host : `[${host}]:${parsed.port}`;
  return `${pattern} ${key[0]} ${key[1]}`;
}
