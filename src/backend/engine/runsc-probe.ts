// gVisor is used only when a probe container really runs under it with a network: an
// engine can register runsc and still fail to start networked containers with it.
import type { DockerClient } from "./docker-client.js";

export type RunscVerdict = { use: true; reason: string } | { use: false; reason: string };

export async function probeRunsc(docker: DockerClient, probeImage: string): Promise<RunscVerdict> {
  const info = await docker.run(["info", "--format", "{{json .Runtimes}}"], { allowFailure: true });
  if (info.exitCode !== 0 || !info.stdout.includes('"runsc"')) {
    return { use: false, reason: "runc (gVisor's runsc is not registered with the engine)" };
  }
  const probe = await docker.run(
    [
      "run",
      "--rm",
      "--runtime",
      "runsc",
      "--network",
      "bridge",
      "--entrypoint",
      "true",
      probeImage,
    ],
    { allowFailure: true },
  );
  if (probe.exitCode === 0)
    return { use: true, reason: "gVisor (runsc; a probe container ran under it)" };
  return {
    use: false,
    reason:
      "runc (gVisor's runsc is registered but a networked probe container failed to start under it)",
  };
}
