// `claude-bottle dashboard`: a local web page to watch every bottle on this machine (its
// sidecars, policy and routed traffic), the decisions its sidecars take as they happen, the
// agents' requests waiting for an answer, and the audit logs. Serves on 127.0.0.1 only and
// prints a URL whose fragment holds a one-time token; runs until interrupted.
import { fileURLToPath } from "node:url";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import type { Backend } from "../backend/backend.js";
import { backendNamed } from "../backend/backends.js";
import { stopBudgetOf } from "../backend/end-bottle.js";
import type { LaunchContext } from "../backend/start-plan.js";
import { BottleListing } from "../dashboard/bottle-listing.js";
import { startDashboardServer } from "../dashboard/dashboard-server.js";
import { decisionContainers, type ViewContext } from "../dashboard/dashboard-views.js";
import { DecisionHub } from "../dashboard/decision-hub.js";
import { LogFollower } from "../dashboard/log-follower.js";
import {
  announceRunning,
  LOGIN_TOKEN_LIFETIME_MS,
  newToken,
  readRunning,
  requestLogin,
  watchLogins,
  withdrawRunning,
} from "../dashboard/login-channel.js";
import { cliStopper } from "../dashboard/stop-bottle.js";
import { InputError } from "../shared/errors.js";
import { terminalSafe } from "../shared/terminal-text.js";
import { backendFor, backendOption } from "./backend-option.js";
import { type CliContext, launchContextOf } from "./cli-context.js";
import { hostActor } from "./supervise-command.js";

/** How often the bottles are looked up again for logs to follow. */
const DISCOVER_EVERY_MS = 2000;

export function dashboardCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("dashboard")
    .description("serve a local web dashboard of bottles, decisions, requests and audit logs")
    .option("--port <n>", "port on 127.0.0.1 (0: any free port)", "0")
    .option(
      "--login",
      "print a new sign-in link for this home's running dashboard (its first one works once)",
    )
    .addOption(backendOption())
    .action((options) => serveDashboard(ctx, options));
}

async function serveDashboard(
  ctx: CliContext,
  options: { port: string; login?: true; backend: string },
): Promise<void> {
  const launch = launchContextOf(ctx);
  if (options.login === true) {
    // Another tab, browser or device: a new one-time link, without restarting it.
    ctx.io.stdout(`${await requestLogin(launch.home)}\n`);
    ctx.io.stderr("dashboard: open the URL above (its token works once, for 10 minutes)\n");
    return;
  }
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InputError(`--port ${options.port}: not a port number`, {
      hint: "for example --port 8377, or 0 for any free port",
    });
  }
  const backend = backendFor(launch, options);
  const hub = new DecisionHub();
  const views = viewContextOf(ctx, launch, backend, hub);
  const follower = new LogFollower(hub, (container, from) => backend.openLog(container, from));
  const server = await startDashboardServer({
    views,
    token: newToken(),
    port,
    log: (line) => ctx.io.stderr(dashboardLine(line)),
  });
  const announced = await keepAnnounced(ctx, launch.home, server.port);
  const logins = watchLogins(launch.home, (t) =>
    server.addToken(t, Date.now() + LOGIN_TOKEN_LIFETIME_MS),
  );
  const following = followDecisions(ctx, views, follower);
  ctx.io.stdout(`${server.url}\n`);
  ctx.io.stderr("dashboard: open the URL above (its token works once); Ctrl-C to stop\n");
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop).once("SIGTERM", stop);
  });
  following.stopping();
  logins.stop();
  await announced.withdraw();
  follower.stop();
  await server.close();
  await following.done;
}

function viewContextOf(
  ctx: CliContext,
  launch: LaunchContext,
  backend: Backend,
  hub: DecisionHub,
): ViewContext {
  return {
    backendOf: (name) => backendNamed(name, launch),
    home: launch.home,
    now: ctx.now,
    actor: `dashboard (${hostActor(ctx.env)})`,
    hub,
    listing: new BottleListing(() => backend.list()),
    // The stop button runs this very CLI's `stop`, as a user would type it.
    stopBottle: cliStopper({
      cliMain: fileURLToPath(new URL("./main.js", import.meta.url)),
      backend: backend.name,
      env: ctx.env,
      timeoutMs: stopBudgetOf(ctx.env).totalMs + 30_000,
    }),
  };
}

/**
 * Says in the home that this dashboard runs (for --login), and again whenever another
 * dashboard of the home, started and stopped meanwhile, took the announcement with it.
 */
async function keepAnnounced(
  ctx: CliContext,
  home: string,
  port: number,
): Promise<{ withdraw(): Promise<void> }> {
  const announce = () =>
    announceRunning(home, { port, pid: process.pid, startedAt: ctx.now().toISOString() });
  await announce();
  const again = setInterval(() => {
    readRunning(home)
      .then((running) => (running === null ? announce() : undefined))
      .catch(() => {});
  }, 1000);
  return {
    async withdraw() {
      clearInterval(again);
      await withdrawRunning(home, process.pid).catch(() => {});
    },
  };
}

/** Looks the bottles up every DISCOVER_EVERY_MS and follows their decision logs. */
function followDecisions(
  ctx: CliContext,
  views: ViewContext,
  follower: LogFollower,
): { stopping(): void; done: Promise<void> } {
  let stopped = false;
  const discover = async () => {
    while (!stopped) {
      try {
        follower.follow(await decisionContainers(views));
      } catch (error) {
        ctx.io.stderr(dashboardLine(`cannot list bottles: ${(error as Error).message}`));
      }
      await new Promise((r) => setTimeout(r, DISCOVER_EVERY_MS));
    }
  };
  const done = discover();
  return {
    stopping: () => {
      stopped = true;
    },
    done,
  };
}

/**
 * One line of the dashboard's log on the terminal. The lines quote what a bottle sent (request
 * paths, proposal fields, error messages naming its files): shown through terminalSafe.
 */
export function dashboardLine(text: string): string {
  return `dashboard: ${terminalSafe(text)}\n`;
}
