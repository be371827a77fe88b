// Entry bundled by bench-dlp-corpus.mjs (it imports the sidecars' TypeScript, which node
// cannot run as it is):  main.mjs ROOT DIR full|reduced
// Builds the corpus in DIR from the repository at ROOT, scans it, prints the tables on stdout
// and exits 1 when any item was refused.
import { buildCorpus, type CorpusScale } from "./build-corpus.js";
import { refusalCount, renderReport } from "./report.js";
import { randomSecrets, scanCorpus } from "./scan-corpus.js";
import { scanResponses } from "./scan-responses.js";

const [root, dir, scale = "full"] = process.argv.slice(2);
if (root === undefined || dir === undefined || (scale !== "full" && scale !== "reduced")) {
  process.stderr.write("usage: main.mjs ROOT DIR full|reduced\n");
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const manifest = await buildCorpus({ dir, root, scale: scale as CorpusScale, log });
const requests = await scanCorpus(dir, manifest, { log });
process.stdout.write(
  `As pipelock (requests, WebSocket messages) and git-gate (the push) scan them:\n\n`,
);
process.stdout.write(`${renderReport(requests)}\n`);
// A route token of the bottle's egress, random like the pipelock secrets.
const responses = await scanResponses(
  dir,
  manifest,
  randomSecrets().ANTHROPIC_API_KEY as string,
  log,
);
if (responses === undefined) {
  process.stdout.write("\negress: this engine has no response scan (no ResponseGuard).\n");
} else {
  process.stdout.write(`\nAs egress reads them coming back from a route host:\n\n`);
  process.stdout.write(`${renderReport(responses)}\n`);
}
const refused = refusalCount(requests) + (responses === undefined ? 0 : refusalCount(responses));
process.exit(refused > 0 ? 1 : 0);
