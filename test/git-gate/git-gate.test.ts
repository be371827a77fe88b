// The git-gate against a real engine: an sshd upstream on an egress network, the gate on
// both networks, and an agent on the internal network only, holding no identity file.
// Only these containers and the two networks the test creates are ever addressed.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import {
  GIT_GATE_ACCESS_HOOK_IN_CONTAINER,
  GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER,
  GIT_GATE_ALLOWLIST_FILE,
  GIT_GATE_DOCKERFILE,
  GIT_GATE_ENTRYPOINT_IN_CONTAINER,
  GIT_GATE_HOOK_IN_CONTAINER,
  GIT_GATE_IMAGE,
  GIT_GATE_LISTEN_ENV,
  GIT_GATE_PORT,
  GIT_GATE_UPSTREAMS_IN_CONTAINER,
  gitGateContainerName,
  gitGateIdentityPath,
} from "../../src/contracts/git-gate.js";
import { renderAgentGitConfig } from "../../src/sidecars/git-gate/agent-gitconfig.js";
import { gitGateScriptSource } from "../../src/sidecars/git-gate/scripts.js";
import { renderGitGateUpstreams } from "../../src/sidecars/git-gate/upstreams-config.js";
import { describeWithEngine } from "../support/docker/engine.js";
import {
  buildImage,
  DockerScratch,
  docker,
  type ProcessResult,
  SSHD_IMAGE,
  sshKeyPairs,
} from "../support/docker/git-gate-docker.js";

const APP_URL = "ssh://git@git.upstream.test/srv/git/app.git";
/** Same upstream under another name, pinned to a host key it does not have. */
const FORGED_URL = "ssh://git@forged.upstream.test/srv/git/app.git";

/** AWS-shaped credentials made up per run, so no secret-looking literal sits in this file. */
function fakeAwsCredentials(): { keyId: string; secret: string } {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const keyId = `AKIA${[...randomBytes(16)].map((b) => alphabet[b % 32]).join("")}`;
  const secret = randomBytes(30).toString("base64");
  return { keyId, secret };
}

/** git pads "remote:" lines with spaces to clear the terminal line. */
function lines(result: ProcessResult): string[] {
  return `${result.stdout}${result.stderr}`.split("\n").map((l) => l.trimEnd());
}

describeWithEngine("git-gate", () => {
  const scratch = new DockerScratch(`cbtest-gitgate-${randomBytes(4).toString("hex")}`);
  const slug = scratch.prefix;
  const upstream = scratch.name("upstream");
  const gate = scratch.name("gate");
  const agent = scratch.name("agent");
  let dir = "";
  let internal = "";
  let egress = "";
  let identity = "";
  let allowlist = "";

  const inAgent = (script: string) =>
    docker(["exec", "-w", "/work", agent, "sh", "-c", script], { allowFailure: true });
  const inUpstream = (script: string) =>
    docker(["exec", "-u", "git", upstream, "sh", "-c", script], { allowFailure: true });
  const upstreamRef = async (ref: string) =>
    (
      await inUpstream(`git --git-dir=/srv/git/app.git rev-parse -q --verify '${ref}'`)
    ).stdout.trim();
  const agentRev = async (rev: string) =>
    (await inAgent(`git -C app rev-parse '${rev}'`)).stdout.trim();

  beforeAll(async () => {
    await Promise.all([
      buildImage(GIT_GATE_DOCKERFILE, GIT_GATE_IMAGE),
      buildImage("images/sshd-upstream.Dockerfile", SSHD_IMAGE),
    ]);
    dir = await mkdtemp(join(tmpdir(), "cbtest-gitgate-"));
    internal = await scratch.createNetwork("internal", { internal: true });
    egress = await scratch.createNetwork("egress", { internal: false });

    // The gate's identity key, and a second host key to pin wrongly.
    const [own, forged] = await sshKeyPairs(["id", "forged"]);
    if (own === undefined || forged === undefined) throw new Error("ssh-keygen made no keys");
    const { privateKey, publicKey } = own;
    const forgedHostKey = forged.publicKey;
    identity = privateKey;
    await writeFile(join(dir, "app-key"), privateKey, { mode: 0o600 });
    await writeFile(join(dir, "forged-key"), privateKey, { mode: 0o600 });

    await docker([
      "run",
      "-d",
      "--name",
      upstream,
      "--network",
      egress,
      "-e",
      `AUTHORIZED_KEY=${publicKey}`,
      SSHD_IMAGE,
    ]);
    await scratch.waitFor(
      "the upstream's sshd",
      async () => (await inUpstream("test -s /run/upstream-sshd.pid")).code === 0,
    );
    const hostKey = (
      await docker(["exec", upstream, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"])
    ).stdout.trim();
    const upstreamIp = await scratch.ipOn(upstream, egress);

    await writeFile(
      join(dir, "upstreams.json"),
      renderGitGateUpstreams([
        { name: "app", url: APP_URL, knownHostKey: hostKey },
        { name: "forged", url: FORGED_URL, knownHostKey: forgedHostKey },
      ]),
    );
    allowlist = join(dir, "allow", GIT_GATE_ALLOWLIST_FILE);
    await mkdir(join(dir, "allow"));
    await writeFile(allowlist, "");

    const bind = (source: string, target: string) => [
      "--mount",
      `type=bind,source=${source},target=${target},readonly`,
    ];
    // Mounted as the Compose renderer mounts them; created, connected, then started so
    // the entrypoint sees both networks and picks the internal one to listen on.
    await docker([
      "create",
      "--name",
      gate,
      "--network",
      internal,
      "--network-alias",
      gitGateContainerName(slug),
      "--add-host",
      `git.upstream.test:${upstreamIp}`,
      "--add-host",
      `forged.upstream.test:${upstreamIp}`,
      ...bind(gitGateScriptSource("entrypointScript"), GIT_GATE_ENTRYPOINT_IN_CONTAINER),
      ...bind(gitGateScriptSource("hookScript"), GIT_GATE_HOOK_IN_CONTAINER),
      ...bind(gitGateScriptSource("accessHookScript"), GIT_GATE_ACCESS_HOOK_IN_CONTAINER),
      ...bind(join(dir, "app-key"), gitGateIdentityPath("app")),
      ...bind(join(dir, "forged-key"), gitGateIdentityPath("forged")),
      ...bind(join(dir, "upstreams.json"), GIT_GATE_UPSTREAMS_IN_CONTAINER),
      ...bind(join(dir, "allow"), GIT_GATE_ALLOWLIST_DIR_IN_CONTAINER),
      GIT_GATE_IMAGE,
    ]);
    await docker(["network", "connect", egress, gate]);
    await docker(["start", gate]);
    await scratch.waitFor("the gate to serve", async () => {
      const logs = await docker(["logs", gate], { allowFailure: true });
      return logs.stderr.includes("git-gate: serving 2 upstream(s)");
    });

    // The agent: git, on the internal network only, no key, no mounts.
    await docker([
      "run",
      "-d",
      "--name",
      agent,
      "--network",
      internal,
      "--entrypoint",
      "sleep",
      SSHD_IMAGE,
      "infinity",
    ]);
    const gitconfig =
      "[user]\n\tname = Agent\n\temail = agent@example.test\n[init]\n\tdefaultBranch = main\n" +
      renderAgentGitConfig(slug, [
        { name: "app", url: APP_URL },
        { name: "forged", url: FORGED_URL },
      ]);
    await docker(["exec", "-i", agent, "sh", "-c", "mkdir -p /work && cat >/root/.gitconfig"], {
      input: gitconfig,
    });
  });

  afterAll(async () => {
    await scratch.removeAll();
    if (dir !== "") await rm(dir, { recursive: true, force: true });
    expect(await scratch.leftovers()).toEqual([]);
  });

  it("clones an upstream's ssh URL through the gate", async () => {
    const clone = await inAgent(`git clone ${APP_URL} app`);
    expect(clone.code).toBe(0);
    expect((await inAgent("cat app/README.md")).stdout).toBe("# app\n");
    expect(await agentRev("HEAD")).toBe(await upstreamRef("refs/heads/main"));
  });

  it("forwards a clean push upstream", async () => {
    const push = await inAgent(
      "cd app && echo 'More docs.' >>README.md && git commit -qam 'Document more' && git push origin main",
    );
    expect(push.code).toBe(0);
    expect(lines(push)).toContain("remote: git-gate: scanned clean and forwarded to upstream app.");
    expect(await upstreamRef("refs/heads/main")).toBe(await agentRev("HEAD"));
  });

  it("rejects a pushed AWS key naming commit, file, line and rule, never the secret", async () => {
    const before = await upstreamRef("refs/heads/main");
    const { keyId, secret } = fakeAwsCredentials();
    const commit = await inAgent(
      `cd app && mkdir -p config && printf 'region = eu-west-1\\naws_access_key_id = ${keyId}\\naws_secret_access_key = ${secret}\\n' >config/aws.env && git add config && git commit -qm 'Add AWS config'`,
    );
    expect(commit.code).toBe(0);
    const sha = await agentRev("HEAD");

    const push = await inAgent("cd app && git push origin main");
    expect(push.code).not.toBe(0);
    const output = lines(push);
    expect(output).toContain(
      `remote: git-gate:   commit ${sha}: config/aws.env:2: rule aws-access-token (AWS)`,
    );
    expect(output).toContain(
      `remote: git-gate:     fingerprint ${sha}:config/aws.env:aws-access-token:2`,
    );
    expect(output).toContain("remote: git-gate: nothing was sent upstream.");
    expect(output).toContain(" ! [remote rejected] main -> main (pre-receive hook declined)");
    const all = output.join("\n");
    expect(all).not.toContain(keyId);
    expect(all).not.toContain(secret);
    expect(await upstreamRef("refs/heads/main")).toBe(before);
    // The gate's mirror did not move either: what the agent sees is still upstream's.
    expect((await inAgent("cd app && git ls-remote origin refs/heads/main")).stdout).toBe(
      `${before}\trefs/heads/main\n`,
    );
    await inAgent("cd app && git reset -q --hard HEAD~1");
  });

  it("sees a key inside a file git calls binary", async () => {
    const { keyId } = fakeAwsCredentials();
    await inAgent(
      `cd app && printf 'blob\\000\\001 id=${keyId} end\\n' >blob.dat && git add blob.dat && git commit -qm 'Add blob'`,
    );
    expect((await inAgent("cd app && git show --stat --format= HEAD")).stdout).toContain("Bin");
    const push = await inAgent("cd app && git push origin main");
    expect(push.code).not.toBe(0);
    expect(lines(push)).toContain(
      `remote: git-gate:   commit ${await agentRev("HEAD")}: blob.dat:1: rule aws-access-token (AWS)`,
    );
    await inAgent("cd app && git reset -q --hard HEAD~1");
  });

  it("sees what a merge commit adds by itself, and refuses octopus merges", async () => {
    const before = await upstreamRef("refs/heads/main");
    const { keyId } = fakeAwsCredentials();
    const merge = await inAgent(
      `cd app && git checkout -qb side && echo a >a.txt && git add a.txt && git commit -qm a && git checkout -q main && echo b >b.txt && git add b.txt && git commit -qm b && git merge -q --no-commit side && printf 'id = ${keyId}\\n' >merge.txt && git add merge.txt && git commit -qm 'Merge side'`,
    );
    expect(merge.code).toBe(0);
    const push = await inAgent("cd app && git push origin main");
    expect(push.code).not.toBe(0);
    expect(lines(push)).toContain(
      `remote: git-gate:   commit ${await agentRev("HEAD")}: merge.txt:1: rule aws-access-token (AWS)`,
    );

    const octopus = await inAgent(
      "cd app && git reset -q --hard HEAD~1 && git checkout -qb third HEAD~1 && echo c >c.txt && git add c.txt && git commit -qm c && git checkout -q main && git merge -q -m Octopus side third",
    );
    expect(octopus.code).toBe(0);
    const refused = await inAgent("cd app && git push origin main");
    expect(refused.code).not.toBe(0);
    expect(lines(refused)).toContain(
      `remote: git-gate: push rejected: commit ${await agentRev("HEAD")} merges three or more parents,`,
    );
    expect(await upstreamRef("refs/heads/main")).toBe(before);
    await inAgent("cd app && git reset -q --hard origin/main && git branch -qD side third");
  });

  it("rejects a secret in an older commit of a new branch, even when the tip is clean", async () => {
    const { keyId, secret } = fakeAwsCredentials();
    await inAgent(
      `cd app && git checkout -qb feature && printf 'key = ${keyId}\\nsecret = ${secret}\\n' >creds.txt && git add creds.txt && git commit -qm 'Add creds' && git rm -q creds.txt && git commit -qm 'Remove creds'`,
    );
    const leaky = await agentRev("HEAD~1");
    const push = await inAgent("cd app && git push origin feature");
    expect(push.code).not.toBe(0);
    expect(lines(push)).toContain(
      `remote: git-gate:   commit ${leaky}: creds.txt:1: rule aws-access-token (AWS)`,
    );
    expect(await upstreamRef("refs/heads/feature")).toBe("");
  });

  it("lets an allowlisted fingerprint through, and never rescans what upstream has", async () => {
    const leaky = await agentRev("feature~1");
    const rejected = await inAgent("cd app && git push origin feature");
    const fingerprints = lines(rejected)
      .map((l) => /fingerprint (\S+)$/.exec(l)?.[1])
      .filter((f) => f !== undefined);
    expect(fingerprints.length).toBeGreaterThan(0);
    expect(fingerprints.every((f) => f.startsWith(`${leaky}:creds.txt:`))).toBe(true);

    await writeFile(allowlist, `${fingerprints.join("\n")}\n`);
    const allowed = await inAgent("cd app && git push origin feature");
    expect(allowed.code).toBe(0);
    expect(await upstreamRef("refs/heads/feature")).toBe(await agentRev("feature"));

    // With the exception withdrawn, a new branch of commits upstream already has passes:
    // only what upstream lacks is scanned.
    await writeFile(allowlist, "");
    const copy = await inAgent("cd app && git push origin feature:refs/heads/feature-copy");
    expect(copy.code).toBe(0);
    expect(await upstreamRef("refs/heads/feature-copy")).toBe(await agentRev("feature"));
  });

  it("refuses an inline gitleaks:allow marker", async () => {
    const { keyId } = fakeAwsCredentials();
    await inAgent(
      `cd app && git checkout -q main && printf 'ok\\nid = ${keyId} # gitleaks:allow\\n' >marked.txt && git add marked.txt && git commit -qm 'Mark it allowed'`,
    );
    const sha = await agentRev("HEAD");
    const push = await inAgent("cd app && git push origin main");
    expect(push.code).not.toBe(0);
    expect(lines(push)).toContain(`remote: git-gate:   commit ${sha}: marked.txt:2`);
    expect(lines(push).join("\n")).not.toContain(keyId);
    await inAgent("cd app && git reset -q --hard HEAD~1");
  });

  it("pushes tags as upstream takes them, and scans what a tag brings", async () => {
    const push = await inAgent(
      "cd app && git tag v1 && git tag -a v2 -m 'Release 2' && git push origin v1 v2",
    );
    expect(push.code).toBe(0);
    expect(await upstreamRef("refs/tags/v1")).toBe(await agentRev("HEAD"));
    expect(await upstreamRef("refs/tags/v2")).toBe(await agentRev("v2"));
    expect(await upstreamRef("refs/tags/v2^{commit}")).toBe(await agentRev("HEAD"));

    const moved = await inAgent("cd app && git tag -f v1 HEAD~1 && git push --force origin v1");
    expect(moved.code).toBe(0);
    expect(await upstreamRef("refs/tags/v1")).toBe(await agentRev("HEAD~1"));

    const { keyId } = fakeAwsCredentials();
    await inAgent(
      `cd app && git checkout -q --detach && printf 'id = ${keyId}\\n' >t.txt && git add t.txt && git commit -qm tagged && git tag leak && git checkout -q main`,
    );
    const leak = await inAgent("cd app && git push origin leak");
    expect(leak.code).not.toBe(0);
    expect(lines(leak)).toContain(
      `remote: git-gate:   commit ${await agentRev("leak")}: t.txt:1: rule aws-access-token (AWS)`,
    );
    expect(await upstreamRef("refs/tags/leak")).toBe("");

    const tree = await inAgent("cd app && git tag tree 'HEAD^{tree}' && git push origin tree");
    expect(tree.code).not.toBe(0);
    expect(lines(tree)).toContain(
      "remote: git-gate: push rejected: refs/tags/tree points at a tree, not a commit; only commits go upstream",
    );
  });

  it("forwards force pushes and deletions, and fails when upstream refuses them", async () => {
    const force = await inAgent(
      "cd app && git commit -q --amend -m 'Document more (reworded)' && git push --force origin main",
    );
    expect(force.code).toBe(0);
    expect(await upstreamRef("refs/heads/main")).toBe(await agentRev("HEAD"));

    const deletion = await inAgent("cd app && git push origin --delete feature-copy");
    expect(deletion.code).toBe(0);
    expect(await upstreamRef("refs/heads/feature-copy")).toBe("");

    await inUpstream(
      "git --git-dir=/srv/git/app.git config receive.denyNonFastForwards true && git --git-dir=/srv/git/app.git config receive.denyDeletes true",
    );
    const before = await upstreamRef("refs/heads/main");
    const refused = await inAgent(
      "cd app && git commit -q --amend -m 'Reworded again' && git push --force origin main",
    );
    expect(refused.code).not.toBe(0);
    const output = lines(refused);
    expect(output).toContain(
      `remote: git-gate: push rejected: upstream app (${APP_URL}) refused the update:`,
    );
    expect(output).toContain(
      "remote: git-gate:   remote: error: denying non-fast-forward refs/heads/main (you should pull first)",
    );
    expect(output).toContain(
      `remote: git-gate:    ! [remote rejected] ${await agentRev("HEAD")} -> main (non-fast-forward)`,
    );
    expect(output).toContain("remote: git-gate: nothing was sent upstream.");
    expect(await upstreamRef("refs/heads/main")).toBe(before);
    expect((await inAgent("cd app && git ls-remote origin refs/heads/main")).stdout).toBe(
      `${before}\trefs/heads/main\n`,
    );

    const undeletable = await inAgent("cd app && git push origin --delete feature");
    expect(undeletable.code).not.toBe(0);
    expect(await upstreamRef("refs/heads/feature")).not.toBe("");
  });

  it("fails closed when the upstream's host key is not the pinned one", async () => {
    const fetch = await inAgent(`git ls-remote ${FORGED_URL}`);
    expect(fetch.code).not.toBe(0);
    expect(lines(fetch)).toContain(
      `fatal: remote error: git-gate: cannot reach upstream forged (${FORGED_URL}): its host key does not match the pinned key (host key verification failed); refusing to serve a stale mirror: /forged.git`,
    );
    const push = await inAgent(`cd app && git push ${FORGED_URL} main:refs/heads/forged`);
    expect(push.code).not.toBe(0);
    expect(await upstreamRef("refs/heads/forged")).toBe("");
  });

  it("serves the internal network only", async () => {
    const gateOnEgress = await scratch.ipOn(gate, egress);
    const probe = await inUpstream(`git ls-remote git://${gateOnEgress}:${GIT_GATE_PORT}/app.git`);
    expect(probe.code).not.toBe(0);
    expect(probe.stderr).toContain("Connection refused");
  });

  it("refuses to serve on a routed interface alone, unless told it is a pod's", async () => {
    // A gate whose only network routes outside: as Compose would never start it, and as a
    // Kubernetes pod always is. Same mounts as the gate above.
    const mounts = (await docker(["inspect", "-f", "{{json .HostConfig.Mounts}}", gate])).stdout;
    const binds = (JSON.parse(mounts) as Array<{ Source: string; Target: string }>).flatMap((m) => [
      "--mount",
      `type=bind,source=${m.Source},target=${m.Target},readonly`,
    ]);
    const upstreamIp = await scratch.ipOn(upstream, egress);
    const lone = (name: string, env: string[]) =>
      docker([
        "run",
        "-d",
        "--name",
        name,
        "--network",
        egress,
        "--add-host",
        `git.upstream.test:${upstreamIp}`,
        "--add-host",
        `forged.upstream.test:${upstreamIp}`,
        ...env,
        ...binds,
        GIT_GATE_IMAGE,
      ]);
    const refused = scratch.name("gate-routed");
    await lone(refused, []);
    await scratch.waitFor(
      "the routed-only gate to give up",
      async () =>
        (await docker(["inspect", "-f", "{{.State.Running}}", refused])).stdout.trim() === "false",
    );
    expect((await docker(["logs", refused], { allowFailure: true })).stderr).toContain(
      "refusing to serve on the egress network",
    );
    const pod = scratch.name("gate-pod");
    await lone(pod, ["-e", `${GIT_GATE_LISTEN_ENV}=pod`]);
    await scratch.waitFor("the pod's gate to serve", async () =>
      (await docker(["logs", pod], { allowFailure: true })).stderr.includes(
        "git-gate: serving 2 upstream(s)",
      ),
    );
    const podIp = await scratch.ipOn(pod, egress);
    const listed = await inUpstream(`git ls-remote git://${podIp}:${GIT_GATE_PORT}/app.git`);
    expect(listed.stderr).toBe("");
    expect(listed.stdout).toMatch(/^[0-9a-f]{40}\tHEAD\n/);
  });

  it("leaves no copy of the identity file in the agent", async () => {
    const mounts = (await docker(["inspect", "-f", "{{json .Mounts}}", agent])).stdout.trim();
    expect(mounts).toBe("[]");
    // One base64 line of the private key: any copy of the file would contain it.
    const needle = identity.split("\n")[3] ?? "";
    expect(needle.length).toBeGreaterThan(40);
    const search = await inAgent(
      `grep -rlF -e '${needle}' / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev 2>/dev/null`,
    );
    expect(search.stdout).toBe("");
    expect(search.code).toBe(1);
    const env = (await inAgent("env")).stdout;
    expect(env).not.toContain(needle);
  });

  it("fails closed with a clear message when the upstream is down", async () => {
    await docker(["exec", upstream, "sh", "-c", 'kill "$(cat /run/upstream-sshd.pid)"']);
    const fetch = await inAgent("cd app && git fetch origin");
    expect(fetch.code).not.toBe(0);
    expect(lines(fetch)).toContain(
      `fatal: remote error: git-gate: cannot reach upstream app (${APP_URL}): ssh: connect to host git.upstream.test port 22: Connection refused; refusing to serve a stale mirror: /app.git`,
    );
    const clone = await inAgent(`git clone ${APP_URL} again`);
    expect(clone.code).not.toBe(0);
  });
});
