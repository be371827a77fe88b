// `claude-bottle audit`: the supervision audit logs (`<home>/audit/<slug>.jsonl`). `verify`
// recomputes each hash chain and fails, exit 1, naming the first bad line and what is wrong
// with it; `show` prints a log's entries.
import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import {
  type AuditVerification,
  auditLogPath,
  readAuditEntries,
  verifyAuditLog,
} from "../approval/audit-log.js";
import { BottleError, InputError } from "../shared/errors.js";
import { terminalSafe, terminalSafeJson } from "../shared/terminal-text.js";
import { type CliContext, launchContextOf } from "./cli-context.js";

interface Selection {
  slug?: string;
  file?: string;
}

export function auditCommand(ctx: CliContext): CommandUnknownOpts {
  const command = new Command("audit").description(
    "check and read the audit logs of supervision decisions",
  );
  command.addCommand(
    new Command("verify")
      .description("recompute the hash chain of audit logs (all of them by default)")
      .option("--slug <slug>", "only this bottle's log")
      .option("--file <path>", "only this log file")
      .option("--json", "print JSON for scripts")
      .action(async (options) => {
        const results: AuditVerification[] = [];
        for (const path of await selectLogs(ctx, options, true)) {
          const result = await verifyAuditLog(path);
          if (result === null) throw missingLog(path, options);
          results.push(result);
        }
        const bad = results.filter((r) => !r.ok);
        if (options.json) {
          ctx.io.stdout(`${terminalSafeJson(results, 2)}\n`);
          if (bad.length > 0) ctx.exitCode = 1;
          return;
        }
        for (const r of results.filter((r) => r.ok)) {
          ctx.io.stdout(`${terminalSafe(r.path)}: ${r.entries} entries verified\n`);
        }
        const first = bad[0];
        if (first !== undefined && !first.ok) {
          const others = bad.length > 1 ? ` (and ${bad.length - 1} more log(s) fail)` : "";
          throw new BottleError(
            `audit log ${terminalSafe(first.path)}: line ${first.line}: ${first.problem}: ${terminalSafe(first.message)}${others}`,
            {
              hint: `the ${first.entries} entries before that line verify; keep a copy of the file as it is`,
            },
          );
        }
        if (results.length === 0) ctx.io.stdout("no audit logs\n");
      }),
  );
  command.addCommand(
    new Command("show")
      .description("print the entries of one bottle's audit log")
      .option("--slug <slug>", "the bottle's log")
      .option("--file <path>", "a log file")
      .option("--json", "print JSON Lines as stored")
      .action(async (options) => {
        const [path] = await selectLogs(ctx, options, false);
        if (path === undefined) return;
        const entries = await readAuditEntries(path);
        if (entries.length === 0 && (await verifyAuditLog(path)) === null) {
          throw missingLog(path, options);
        }
        for (const e of entries) {
          if (options.json) {
            ctx.io.stdout(`${terminalSafeJson(e)}\n`);
            continue;
          }
          const what = [e.id, e.decision, e.by, e.reason]
            .filter((v) => typeof v === "string" && v !== "")
            .map((v) => terminalSafe(String(v), { max: 80 }));
          const head = [e.seq, e.at, e.event].map((v) => terminalSafe(String(v)));
          ctx.io.stdout(`${[...head, ...what].join("\t")}\n`);
        }
      }),
  );
  // The program copies its settings onto this command after it is built: pass them on.
  command.hook("preSubcommand", (self, sub) => {
    sub.copyInheritedSettings(self);
  });
  return command;
}

async function selectLogs(ctx: CliContext, options: Selection, many: boolean): Promise<string[]> {
  if (options.slug !== undefined && options.file !== undefined) {
    throw new InputError("give --slug or --file, not both");
  }
  if (options.file !== undefined) return [resolve(ctx.cwd, options.file)];
  const home = launchContextOf(ctx).home;
  if (options.slug !== undefined) return [auditLogPath(home, options.slug)];
  if (!many) throw new InputError("which log? give --slug <slug> or --file <path>");
  const dir = join(home, "audit");
  try {
    return (await readdir(dir))
      .filter((name) => name.endsWith(".jsonl"))
      .sort()
      .map((name) => join(dir, name));
  } catch {
    return [];
  }
}

function missingLog(path: string, options: Selection): InputError {
  return new InputError(
    options.slug !== undefined
      ? `no audit log for bottle ${terminalSafe(options.slug)} (${terminalSafe(path)})`
      : `no audit log at ${terminalSafe(path)}`,
    {
      hint: "a bottle's log starts when `claude-bottle supervise` first sees one of its proposals",
    },
  );
}
