import { describe, expect, it } from "vitest";
import {
  boundedClient,
  checkEngine,
  DockerCli,
  type DockerClient,
  DockerError,
  TIMED_OUT_EXIT,
} from "./docker-client.js";

describe("DockerError", () => {
  it("names the fix for the failures a user can mend", () => {
    const cases: Array<[string, RegExp]> = [
      [
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock",
        /start the Docker engine/,
      ],
      ["docker: 'compose' is not a docker command.", /install Docker Compose v2/],
      [
        "failed to create network x: Error response from daemon: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network",
        /default-address-pools.*claude-bottle cleanup|claude-bottle cleanup.*default-address-pools/,
      ],
    ];
    for (const [stderr, hint] of cases) {
      expect(new DockerError("docker x", 1, stderr).hint).toMatch(hint);
    }
    expect(new DockerError("docker x", 1, "something else").hint).toBeUndefined();
  });

  it("keeps the command and the last lines of its error", () => {
    const e = new DockerError("docker compose up", 1, "a\nb\nfailed: no space");
    expect(e.message).toBe(
      "command failed with exit code 1: docker compose up\na\nb\nfailed: no space",
    );
  });
});

describe("DockerCli deadlines", () => {
  it("kills a child that outlives its timeout and says so", async () => {
    const started = Date.now();
    const r = await new DockerCli("sleep").run(["30"], { timeoutMs: 300, allowFailure: true });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(TIMED_OUT_EXIT);
    expect(r.stderr).toContain("no answer within 0 s: stopped");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("kills the whole process group of a detached child, and throws without allowFailure", async () => {
    const started = Date.now();
    // The grandchild holds the pipes: only a group kill lets the call end before it would.
    await expect(
      new DockerCli("sh").run(["-c", "sleep 30 & wait"], { timeoutMs: 300, detached: true }),
    ).rejects.toThrow(/command failed with exit code 124: sh -c sleep 30 & wait/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("bounds every call of a boundedClient by one deadline", async () => {
    const client = boundedClient(new DockerCli("sleep"), Date.now() + 1_500);
    const r = await client.run(["30"], { allowFailure: true });
    expect(r.timedOut).toBe(true);
  });
});

describe("checkEngine", () => {
  /** A docker whose `compose version` fails with `stderr`. */
  const composeFails = (stderr: string): DockerClient => ({
    run: async (args) =>
      args[0] === "version"
        ? { exitCode: 0, stdout: "26.1.5\n", stderr: "" }
        : { exitCode: 1, stdout: "", stderr },
  });

  it("says Compose is missing only when docker does not know the command", async () => {
    await expect(
      checkEngine(composeFails("docker: 'compose' is not a docker command.\nSee 'docker --help'")),
    ).rejects.toThrow("Docker Compose v2 is not installed");
  });

  it("says any other failure of `docker compose version` in docker's words", async () => {
    const failing = checkEngine(composeFails("Error response from daemon: something broke\n"));
    await expect(failing).rejects.toBeInstanceOf(DockerError);
    await expect(failing).rejects.toThrow(
      "command failed with exit code 1: docker compose version --short\nError response from daemon: something broke",
    );
  });
});
