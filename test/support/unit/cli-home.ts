// What a CLI command test that must not reach Docker starts from: a scratch root with a
// claude-bottle home in it, and a docker client that records and refuses every call.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeEach } from "vitest";
import type { DockerClient } from "../../../src/backend/engine/docker-client.js";
import { tempDirPerTest } from "./temp-dir.js";

export interface CliHome {
  /** The scratch root: the user's HOME. */
  root: () => string;
  /** root/home, the claude-bottle home, with empty agents/ and bottles/. */
  home: () => string;
}

/** A fresh CliHome for each test of the calling file (or describe block). */
export function cliHomePerTest(prefix: string): CliHome {
  const root = tempDirPerTest(prefix);
  const home = () => join(root(), "home");
  beforeEach(async () => {
    await mkdir(join(home(), "agents"), { recursive: true });
    await mkdir(join(home(), "bottles"), { recursive: true });
  });
  return { root, home };
}

/** A docker client that records each call in `calls`, then fails it. */
export function refusingDocker(calls: string[][]): DockerClient {
  return {
    run: async (args) => {
      calls.push([...args]);
      throw new Error("docker must not be called");
    },
  };
}
