// Test fixture: a claude-bottle home with one supervised bottle's state laid out as prepare
// lays it out, and a docker seam that records its calls instead of running them.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  type SupervisedBottle,
  supervisedBottle,
} from "../../../src/approval/supervised-bottle.js";
import type { Backend } from "../../../src/backend/backend.js";
import { ComposeBackend } from "../../../src/backend/compose/compose-backend.js";
import type {
  DockerClient,
  RunOptions,
  RunResult,
} from "../../../src/backend/engine/docker-client.js";
import type { LaunchContext } from "../../../src/backend/start-plan.js";
import { ensureQueueDirs } from "../../../src/shared/queue-files.js";

export const PIPELOCK_YAML = `# staged by prepare
allow:
  - api.github.com
  - "*.githubusercontent.com"
dlp:
  action: block
  secretEnv:
    - PIPELOCK_SECRET_0
supervise:
  enabled: true
`;

export async function makeSupervisedBottle(
  home: string,
  slug = "demo-7f3a",
): Promise<SupervisedBottle> {
  const bottle = supervisedBottle(home, slug);
  await ensureQueueDirs(bottle.queueDir);
  await mkdir(bottle.currentDir, { recursive: true });
  await mkdir(dirname(bottle.pipelockConfig), { recursive: true });
  await writeFile(bottle.pipelockConfig, PIPELOCK_YAML);
  await mkdir(dirname(bottle.egressRoutes), { recursive: true });
  await writeFile(
    bottle.egressRoutes,
    "routes:\n  - host: api.github.com\n    paths: [/repos/]\n    methods: all\n    auth: { scheme: Bearer, tokenEnv: EGRESS_TOKEN_0 }\n",
  );
  return bottle;
}

export class RecordingDocker implements DockerClient {
  readonly calls: string[][] = [];
  constructor(private readonly exitCode = 0) {}

  async run(args: readonly string[], _options?: RunOptions): Promise<RunResult> {
    this.calls.push([...args]);
    return {
      exitCode: this.exitCode,
      stdout: "",
      stderr: this.exitCode === 0 ? "" : "Error response from daemon: container is not running",
    };
  }
}

/**
 * The backends an approval finds by name, all Compose on `docker`: what the host does to put
 * a change in force is recorded there (pipelock's SIGHUP).
 */
export function composeOn(docker: DockerClient): (name: string) => Backend {
  const launch: LaunchContext = {
    docker,
    home: "",
    userHome: "",
    buildContext: "",
    env: {},
    now: () => new Date(),
    suffix: () => "",
    progress: () => {},
  };
  return () => new ComposeBackend(launch);
}
