// scripts/setup-host.sh must leave a Debian 12 host's own packages alone: in a throwaway
// bookworm container (with python3, as a user's host has), `setup-host.sh --simulate` asks
// apt-get what installing the engine packages would do. Nothing of the host's may be upgraded
// or removed, and only the engine packages and gitleaks may come from trixie. The same
// container then simulates the `-t trixie` install this replaced, which must be caught by the
// same check: the test can fail.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { expect, it } from "vitest";
import { OFFLINE_BASE_IMAGE } from "../../src/backend/engine/images.js";
import { describeWithEngine } from "../support/docker/engine.js";

const run = promisify(execFile);
const SCRIPTS = resolve(import.meta.dirname, "../../scripts");
const SEPARATOR = "=== -t trixie ===";

/** What trixie may bring: the engine packages, gitleaks, and one small Perl library. */
const FROM_TRIXIE = new Set([
  "containerd",
  "docker.io",
  "docker-buildx",
  "docker-cli",
  "docker-compose",
  "gitleaks",
  "libsort-naturally-perl",
]);

interface AptPlan {
  /** Package -> the archives apt named for it, e.g. "Debian:13.8/stable". */
  installs: Map<string, string>;
  /** Packages already installed that would change version. */
  upgrades: string[];
  removals: string[];
}

/** Reads `apt-get -s` output: "Inst pkg [old] (new archive [arch])", "Remv pkg [old]". */
function readAptPlan(text: string): AptPlan {
  const plan: AptPlan = { installs: new Map(), upgrades: [], removals: [] };
  for (const line of text.split("\n")) {
    const inst = /^Inst (\S+) (\[[^\]]*\] )?\(\S+ ([^[]+)\[/.exec(line);
    if (inst?.[1] !== undefined) {
      plan.installs.set(inst[1], (inst[3] ?? "").trim());
      if (inst[2] !== undefined) plan.upgrades.push(inst[1]);
    }
    const remv = /^Remv (\S+)/.exec(line);
    if (remv?.[1] !== undefined) plan.removals.push(remv[1]);
  }
  return plan;
}

function fromTrixie(plan: AptPlan): string[] {
  return [...plan.installs]
    .filter(([, archive]) => archive.includes("Debian:13") && !archive.includes("Debian:12"))
    .map(([name]) => name)
    .sort();
}

describeWithEngine("setup-host.sh on a Debian 12 host", () => {
  it("takes only the engine packages and gitleaks from trixie; libc6 and python3 stay", async () => {
    const script = [
      "set -e",
      "apt-get update -qq",
      "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null 2>&1",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format fields
      "dpkg-query -W -f='installed ${Package} ${Version}\\n' libc6 python3 libssl3",
      "bash /setup/setup-host.sh --simulate",
      `echo '${SEPARATOR}'`,
      "apt-get -s install -t trixie docker.io docker-compose docker-buildx gitleaks",
    ].join("\n");
    const { stdout } = await run(
      "docker",
      ["run", "--rm", "-v", `${SCRIPTS}:/setup:ro`, OFFLINE_BASE_IMAGE, "sh", "-c", script],
      { maxBuffer: 16 * 1024 * 1024, timeout: 280_000 },
    );
    const [byName = "", wholeClosure = ""] = stdout.split(SEPARATOR);
    expect(byName).toMatch(/^installed libc6 2\.36/m);
    expect(byName).toMatch(/^installed python3 3\.11/m);

    const plan = readAptPlan(byName);
    expect(plan.installs.get("docker.io")).toContain("Debian:13");
    expect(plan.installs.get("docker-compose")).toContain("Debian:13");
    expect(plan.installs.get("gitleaks")).toContain("Debian:13");
    expect(fromTrixie(plan).filter((name) => !FROM_TRIXIE.has(name))).toEqual([]);
    expect(plan.upgrades).toEqual([]);
    expect(plan.removals).toEqual([]);
    expect([...plan.installs.keys()]).not.toContain("libc6");
    expect([...plan.installs.keys()].filter((n) => n.startsWith("python3."))).toEqual([]);

    // The old way: the same check sees libc6 and python3 move.
    const old = readAptPlan(wholeClosure);
    expect(old.upgrades).toEqual(expect.arrayContaining(["libc6"]));
    expect(fromTrixie(old).filter((name) => !FROM_TRIXIE.has(name)).length).toBeGreaterThan(10);
  });

  it("takes its Debian mirror from the host's own apt sources, in either format", async () => {
    const print = 'bash /setup/setup-host.sh --print-mirror 2>&1; echo "rc=$?"; echo ---';
    const script = [
      // deb822: the security stanza comes first and is not the bookworm suite.
      "rm -f /etc/apt/sources.list",
      "printf 'Types: deb\\nURIs: http://security.example.test/debian-security\\nSuites: bookworm-security\\n\\nTypes: deb\\n# a comment\\nURIs: http://deb822.example.test/debian\\nSuites: bookworm bookworm-updates\\nComponents: main\\n' > /etc/apt/sources.list.d/a.sources",
      print,
      // One-line format with options.
      "rm /etc/apt/sources.list.d/a.sources",
      "echo 'deb [arch=amd64 signed-by=/k.gpg] http://one-line.example.test/debian bookworm main' > /etc/apt/sources.list",
      print,
      // None: an error naming the fix.
      "rm /etc/apt/sources.list",
      print,
      `CLAUDE_BOTTLE_DEBIAN_MIRROR=http://override.example.test/debian ${print}`,
    ].join("\n");
    const { stdout } = await run(
      "docker",
      [
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        `${SCRIPTS}:/setup:ro`,
        OFFLINE_BASE_IMAGE,
        "sh",
        "-c",
        script,
      ],
      { timeout: 60_000 },
    );
    const [deb822, oneLine, none, override] = stdout.split("---\n").map((s) => s.trim());
    expect(deb822).toBe("http://deb822.example.test/debian\nrc=0");
    expect(oneLine).toBe("http://one-line.example.test/debian\nrc=0");
    expect(none).toMatch(/no apt sources on this host; set CLAUDE_BOTTLE_DEBIAN_MIRROR .*\nrc=1$/);
    expect(override).toBe("http://override.example.test/debian\nrc=0");
  });
});
