// The demo's agent and bottle: a made-up model API and docs site under demo.test (a name
// reserved for tests), a git remote on a local sshd, supervision on. Written into a
// claude-bottle home of the demo's own, never the user's.

export const DEMO_HOSTS = {
  /** The stand-in model API: allowlisted through a route whose token egress injects. */
  model: "models.demo.test",
  /** Allowlisted, no route. */
  docs: "docs.demo.test",
  /** Never allowlisted. */
  unlisted: "unlisted.demo.test",
  /** Allowlisted only after the agent asks and the demo approves. */
  later: "later.demo.test",
  /** The sshd git host. */
  git: "git.demo.test",
  /** The stand-in Anthropic API the real Claude Code talks to, through an x-api-key route. */
  claude: "claude.demo.test",
} as const;

export const DEMO_TOKEN_ENV = "DEMO_MODEL_TOKEN";

export interface DemoManifestInput {
  identityFile: string;
  /** "ssh-ed25519 AAAA…" of the stand-in git host. */
  gitHostKey: string;
}

/** All the agent ever holds for the model's key: egress puts the real one on the way out. */
export const DEMO_PLACEHOLDER_KEY = "placeholder-egress-injects-the-real-key";

export function demoBottle(input: DemoManifestInput): string {
  return `---
agent: claude
env:
  ANTHROPIC_API_KEY: ${DEMO_PLACEHOLDER_KEY}
egress:
  allow:
    - ${DEMO_HOSTS.docs}
  routes:
    - host: ${DEMO_HOSTS.model}
      paths: ["/v1/"]
      auth: { scheme: Bearer, token_env: ${DEMO_TOKEN_ENV} }
    - host: ${DEMO_HOSTS.claude}
      auth: { scheme: x-api-key, token_env: ${DEMO_TOKEN_ENV} }
  dlp: block
git:
  - name: app
    url: ssh://git@${DEMO_HOSTS.git}/srv/git/app.git
    identity_file: ${input.identityFile}
    known_host_key: ${input.gitHostKey}
supervise: true
---
The claude-bottle demo bottle.
`;
}

export const DEMO_AGENT = `---
bottle: demo
description: Shows what a bottle allows, refuses, hides and asks for.
---
You are the claude-bottle demo agent.
`;
