// `claude-bottle fetch <provider>`: puts an agent program into the host's cache with the
// host's npm, so that bottles start it without fetching (and tests or scripts can fill
// the cache ahead of time). Fetching twice does nothing the second time.
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { ensureAgentPackage } from "../agents/agent-package.js";
import { agentProviderModule } from "../agents/registry.js";
import { AGENT_PROVIDERS, type AgentProvider } from "../manifest/index.js";
import { InputError } from "../shared/errors.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

export function fetchCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("fetch")
    .description(
      `fetch an agent program (${AGENT_PROVIDERS.join(", ")}) into ~/.claude-bottle/cache/agents with this host's npm`,
    )
    .argument("<provider>", AGENT_PROVIDERS.join(" | "))
    .option("--version <version>", "the npm package's version (default: the pinned one)")
    .option("--json", "print the cached package as JSON: {provider, version, spec, dir, binary}")
    .action(async (provider, options) => {
      if (!(AGENT_PROVIDERS as readonly string[]).includes(provider)) {
        throw new InputError(`"${provider}" is not an agent provider`, {
          hint: `choose one of ${AGENT_PROVIDERS.join(", ")}`,
        });
      }
      const launch = launchContextOf(ctx);
      const pkg = await ensureAgentPackage({
        provider: provider as AgentProvider,
        ...(options.version === undefined ? {} : { version: options.version }),
        home: launch.home,
        env: ctx.env,
        progress: launch.progress,
      });
      if (options.json) {
        const { provider: p, version, spec, dir, binary } = pkg;
        ctx.io.stdout(`${JSON.stringify({ provider: p, version, spec, dir, binary }, null, 2)}\n`);
      } else {
        const title = agentProviderModule(pkg.provider).title;
        ctx.io.stdout(`${title} ${pkg.version} is cached: ${pkg.binary}\n`);
      }
    });
}
