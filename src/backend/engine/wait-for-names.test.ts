import { describe, expect, it } from "vitest";
import { type DockerClient, DockerError, type RunResult } from "./docker-client.js";
import { unresolvedName } from "./wait-for-names.js";

/** A docker whose exec ends as `result` says. */
const execEnds = (result: RunResult): DockerClient => ({ run: async () => result });

describe("unresolvedName", () => {
  it("is null when every name resolved", async () => {
    const docker = execEnds({ exitCode: 0, stdout: "", stderr: "" });
    expect(await unresolvedName(docker, "c", ["pipelock", "egress"], 5)).toBe(null);
  });

  it("names the first name that did not resolve in time", async () => {
    const docker = execEnds({ exitCode: 1, stdout: "egress\n", stderr: "" });
    expect(await unresolvedName(docker, "c", ["pipelock", "egress"], 5)).toBe("egress");
  });

  it("says a failed exec in docker's words, not as a name that did not resolve", async () => {
    const docker = execEnds({
      exitCode: 1,
      stdout: "",
      stderr: "Error response from daemon: container c is not running\n",
    });
    const waiting = unresolvedName(docker, "c", ["pipelock"], 5);
    await expect(waiting).rejects.toBeInstanceOf(DockerError);
    await expect(waiting).rejects.toThrow("container c is not running");
  });

  it("refuses what is not a host name before running anything", async () => {
    const docker = execEnds({ exitCode: 0, stdout: "", stderr: "" });
    await expect(unresolvedName(docker, "c", ["a; rm -rf /"], 5)).rejects.toThrow(
      "not a host name",
    );
  });
});
