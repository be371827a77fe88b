import { describe, expect, it } from "vitest";
import { DockerError } from "./docker-client.js";

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
