// `claude-bottle dashboard`: a local web page to watch every bottle on this machine (its
// sidecars, policy and routed traffic), the decisions its sidecars take as they happen, the
// agents' requests waiting for an answer, and the audit logs. Serves on 127.0.0.1 only and
// prints a URL whose fragment holds a one-time token; runs until interrupted.
import { fileURLToPath } from "node:url";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { backendNamed } from "../backend/backends.js";
import { stopBudgetOf } from "../backend/end-bottle.js";
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
    .action(async (options) => {
      if (options.login === true) {
        // Another tab, browser or device: a new one-time link, without restarting it.
        ctx.io.stdout(`${await requestLogin(launchContextOf(ctx).home)}\n`);
        ctx.io.stderr("dashboard: open the URL above (its token works once, for 10 minutes)\n");
        return;
      }
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) {
        throw new InputError(`--port ${options.port}: not a port number`, {
          hint: "for example --port 8377, or 0 for any free port",
        });
      }
      const launch = launchContextOf(ctx);
      const backend = backendFor(launch, options);
      const hub = new DecisionHub();
      const views: ViewContext = {
        docker: ctx.docker,
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
      const follower = new LogFollower(hub, (container, from) => backend.openLog(container, from));
      const token = newToken();
      const server = await startDashboardServer({
        views,
        token,
        port,
        log: (line) => ctx.io.stderr(dashboardLine(line)),
      });
      await announceRunning(launch.home, {
        port: server.port,
        pid: process.pid,
        startedAt: ctx.now().toISOString(),
      });
      const logins = watchLogins(launch.home, (t) =>
        server.addToken(t, Date.now() + LOGIN_TOKEN_LIFETIME_MS),
      );
      // Another dashboard of this home, started and stopped meanwhile, takes its announcement
      // with it: say again that this one runs, so that --login still finds one.
      const reannounce = setInterval(() => {
        readRunning(launch.home)
          .then((running) =>
            running === null
              ? announceRunning(launch.home, {
                  port: server.port,
                  pid: process.pid,
                  startedAt: ctx.now().toISOString(),
                })
              : undefined,
          )
          .catch(() => {});
      }, 1000);
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
      const discovering = discover();
      ctx.io.stdout(`${server.url}\n`);
      ctx.io.stderr("dashboard: open the URL above (its token works once); Ctrl-C to stop\n");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop).once("SIGTERM", stop);
      });
      stopped = true;
      logins.stop();
      clearInterval(reannounce);
      await withdrawRunning(launch.home, process.pid).catch(() => {});
      follower.stop();
      await server.close();
      await discovering;
    });
}

/**
 * One line of the dashboard's log on the terminal. The lines quote what a bottle sent (request
 * paths, proposal fields, error messages naming its files): shown through terminalSafe.
 */
export function dashboardLine(text: string): string {
  return `dashboard: ${terminalSafe(text)}\n`;
}
