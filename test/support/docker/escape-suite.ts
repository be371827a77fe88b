// One test file's bottles as the escape and fault tests run them: a test home of its own, a
// stand-in CA its bottles trust, a scratch directory, and an escape scope labelling every
// stand-in it starts. The hooks registered here tear all of it down after the file and
// assert nothing is left; a file's own afterAll hooks run before them (vitest runs
// after-hooks in reverse order), so a file stops what it started itself first.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, expect } from "vitest";
import { makeTestHome, type TestHome, writeAgentBottle } from "../cli/cli-process.js";
import {
  type EscapeGitUpstream,
  gitRemoteYaml,
  startEscapeGitUpstream,
} from "../standins/escape-git-upstream.js";
import {
  type EscapeScope,
  newEscapeScope,
  type RecordingUpstream,
  type StandInRequest,
  startRecordingUpstream,
  tearDownEscape,
} from "../standins/escape-standins.js";
import { makeUpstreamCa, type UpstreamCa } from "../tls/test-ca.js";
import { type RunningBottle, startBottle } from "./bottle-harness.js";

export interface EscapeSuite {
  readonly scope: EscapeScope;
  /** The file's test home; set once the suite's beforeAll has run. */
  readonly home: TestHome;
  /** The CA the file's stand-ins serve from and its bottles trust. */
  readonly ca: UpstreamCa;
  /** A directory of the file's own, removed after it. */
  readonly dir: string;
  /**
   * Writes bottle `name` (its front matter, without the `---` lines) and an agent of the same
   * name into `home` (default: the suite's), and starts it trusting the stand-in CA.
   */
  startBottle(
    name: string,
    options: { bottle: string; env?: NodeJS.ProcessEnv; home?: TestHome },
  ): Promise<RunningBottle>;
  /** The recording upstream on `bottle`'s egress network under `hostnames`. */
  startUpstream(
    bottle: RunningBottle,
    hostnames: string[],
    extraNetworks?: string[],
  ): Promise<RecordingUpstream>;
  /**
   * Bottle `name` holding `secret` as $AGENT_SECRET, allowed only `allowed` (no routes, so
   * pipelock is the agent's proxy), and the recording upstream answering for those hosts.
   */
  startSecretBottle(
    name: string,
    secret: string,
    allowed: string[],
  ): Promise<{ bottle: RunningBottle; upstream: RecordingUpstream }>;
  /** The git upstream, its key file in the suite's directory. */
  startGitUpstream(): Promise<EscapeGitUpstream>;
  /**
   * The git upstream and bottle `name` pushing to it, the agent holding `secret` as
   * $AGENT_SECRET (forwarded from CB_GIT_SECRET), the upstream joined to the bottle.
   */
  startGitBottle(
    name: string,
    secret: string,
  ): Promise<{ bottle: RunningBottle; upstream: EscapeGitUpstream }>;
  /**
   * Call in the describe body: a beforeEach marks where each test starts in the upstream's
   * record, and the function returned gives what it received since.
   */
  receivedInEachTest(
    upstream: () => RecordingUpstream | undefined,
  ): () => Promise<StandInRequest[]>;
  /** Disposed of after the file, once its bottles are stopped. */
  disposeAfter(resource: { dispose(): Promise<void> }): void;
}

/** Call in a describe body: registers the file's beforeAll and afterAll. */
export function escapeSuite(): EscapeSuite {
  const scope = newEscapeScope();
  const bottles: RunningBottle[] = [];
  const resources: Array<{ dispose(): Promise<void> }> = [];
  let home: TestHome | undefined;
  let ca: UpstreamCa | undefined;
  let dir: string | undefined;
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the escape suite's ${what} is not set up yet`);
    return value;
  };

  beforeAll(async () => {
    home = await makeTestHome();
    ca = await makeUpstreamCa();
    dir = await mkdtemp(join(tmpdir(), "cb-escape-"));
  });

  afterAll(async () => {
    const left = await tearDownEscape(scope, bottles);
    for (const r of resources.reverse()) await r.dispose();

    await ca?.dispose();
    await home?.dispose();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    expect(left).toEqual([]);
  });

  return {
    scope,
    get home() {
      return ready(home, "home");
    },
    get ca() {
      return ready(ca, "CA");
    },
    get dir() {
      return ready(dir, "directory");
    },
    async startBottle(name, options) {
      const into = options.home ?? ready(home, "home");
      await writeAgentBottle(into, name, options.bottle);
      const bottle = await startBottle(into, name, {
        ...options.env,
        CLAUDE_BOTTLE_UPSTREAM_CA: ready(ca, "CA").caFile,
      });
      bottles.push(bottle);
      return bottle;
    },
    startUpstream(bottle, hostnames, extraNetworks) {
      return startRecordingUpstream(scope, bottle, {
        ca: ready(ca, "CA"),
        hostnames,
        ...(extraNetworks === undefined ? {} : { extraNetworks }),
      });
    },
    async startSecretBottle(name, secret, allowed) {
      const bottle = await this.startBottle(name, {
        bottle: `
env:
  AGENT_SECRET: {from_env: CB_AGENT_SECRET}
egress:
  allow: [${allowed.join(", ")}]
supervise: false
`,
        env: { CB_AGENT_SECRET: secret },
      });
      return { bottle, upstream: await this.startUpstream(bottle, allowed) };
    },
    startGitUpstream() {
      return startEscapeGitUpstream(scope, ready(dir, "directory"));
    },
    async startGitBottle(name, secret) {
      const upstream = await this.startGitUpstream();
      const bottle = await this.startBottle(name, {
        bottle: `
env:
  AGENT_SECRET: {from_env: CB_GIT_SECRET}
${gitRemoteYaml(upstream)}
supervise: false
`,
        env: { CB_GIT_SECRET: secret },
      });
      await upstream.joinBottle(bottle);
      return { bottle, upstream };
    },

    receivedInEachTest(upstream) {
      let seenBefore = 0;
      beforeEach(async () => {
        const u = upstream();
        seenBefore = u === undefined ? 0 : (await u.requests()).length;
      });
      return async () => (await ready(upstream(), "upstream").requests()).slice(seenBefore);
    },
    disposeAfter(resource) {
      resources.push(resource);
    },
  };
}
