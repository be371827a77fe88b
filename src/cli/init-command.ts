// `claude-bottle init`: creates the claude-bottle home with the built-in example agent and
// bottles, so a first `start` has something to run. Never overwrites without --force.
import { chmod, copyFile, mkdir, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { displayPath, resolveManifestPaths } from "../manifest/index.js";
import { pathExists } from "../shared/path-exists.js";
import type { CliContext } from "./cli-context.js";

export function initCommand(ctx: CliContext): CommandUnknownOpts {
  return new Command("init")
    .description("create ~/.claude-bottle with an example agent and bottles")
    .option("--force", "overwrite example files that already exist")
    .action(async (options) => {
      const paths = resolveManifestPaths({ env: ctx.env });
      await mkdir(paths.home, { recursive: true, mode: 0o700 });
      await chmod(paths.home, 0o700);
      const source = join(ctx.packageRoot, "examples", "manifests");
      for (const kind of ["agents", "bottles"] as const) {
        const targetDir = kind === "agents" ? paths.agentsDir : paths.bottlesDir;
        await mkdir(targetDir, { recursive: true, mode: 0o700 });
        for (const name of (await readdir(join(source, kind))).sort()) {
          const target = join(targetDir, name);
          const shown = displayPath(target, paths.userHome);
          if (!options.force && (await pathExists(target))) {
            ctx.io.stderr(`kept    ${shown} (exists; --force overwrites)\n`);
            continue;
          }
          await copyFile(join(source, kind, name), target);
          await chmod(target, 0o600);
          ctx.io.stderr(`wrote   ${shown}\n`);
        }
      }
      ctx.io.stderr("\nnext: claude-bottle start demo --dry-run\n");
    });
}
