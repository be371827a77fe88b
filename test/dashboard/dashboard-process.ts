// `claude-bottle dashboard` run as a user runs it, from a test home: the process, and the
// one-time URL it prints once it listens.
import type { TestHome } from "../support/cli/cli-process.js";
import { waitFor } from "../support/docker/wait-for.js";

export interface RunningDashboard {
  process: ReturnType<TestHome["spawn"]>;
  /** http://127.0.0.1:<port>/#token=… */
  url: string;
  origin: string;
  token: string;
}

export async function startDashboard(
  home: TestHome,
  env: NodeJS.ProcessEnv = {},
): Promise<RunningDashboard> {
  const process = home.spawn(["dashboard"], env);
  const url = await waitFor(
    "the dashboard's URL",
    async () =>
      /(http:\/\/127\.0\.0\.1:\d+\/#token=[0-9a-f]{48})\n/.exec(process.output().stdout)?.[1] ??
      null,
    30_000,
    100,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; its stderr:\n${process.output().stderr}`);
  });
  const parsed = new URL(url);
  return { process, url, origin: parsed.origin, token: parsed.hash.replace("#token=", "") };
}
