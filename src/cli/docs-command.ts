// `claude-bottle docs [topic]`: the documentation that ships with the package, so help and
// hints can point at something every user has, installed or cloned.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, type CommandUnknownOpts } from "@commander-js/extra-typings";
import { didYouMean } from "../shared/did-you-mean.js";
import { InputError } from "../shared/errors.js";
import { DOCS_DIR } from "../shared/installed-files.js";
import type { CliContext } from "./cli-context.js";

interface DocTopic {
  topic: string;
  title: string;
  path: string;
}

async function docTopics(dir: string): Promise<DocTopic[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".md"));
  const topics: DocTopic[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    const first = (await readFile(path, "utf8")).split("\n", 1)[0] ?? "";
    topics.push({ topic: name.slice(0, -".md".length), title: first.replace(/^#+\s*/, ""), path });
  }
  return topics;
}

export function docsCommand(ctx: CliContext, dir = DOCS_DIR): CommandUnknownOpts {
  return new Command("docs")
    .description(
      "show the documentation that ships with claude-bottle (manifests, threat model, …)",
    )
    .argument("[topic]", "a topic, e.g. manifests; without one, the list of topics")
    .option("--path", "print the file's path instead of its text")
    .option("--json", "print the list of topics as JSON")
    .action(async (topic, options) => {
      const topics = await docTopics(dir);
      if (topic === undefined) {
        if (options.json) {
          ctx.io.stdout(`${JSON.stringify(topics, null, 2)}\n`);
          return;
        }
        const width = Math.max(...topics.map((t) => t.topic.length), 5);
        for (const t of topics) ctx.io.stdout(`${t.topic.padEnd(width)}  ${t.title}\n`);
        ctx.io.stderr(`(claude-bottle docs <topic> prints one; the files are in ${dir})\n`);
        return;
      }
      const found = topics.find((t) => t.topic === topic);
      if (found === undefined) {
        const names = topics.map((t) => t.topic);
        throw new InputError(`no documentation topic "${topic}"${didYouMean(topic, names)}`, {
          hint: `the topics are: ${names.join(", ")}`,
        });
      }
      ctx.io.stdout(options.path ? `${found.path}\n` : await readFile(found.path, "utf8"));
    });
}
