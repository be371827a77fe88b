// Entry bundled by bench-dlp-corpus.mjs (it imports the sidecars' TypeScript, which node
// cannot run as it is):  main.mjs ROOT DIR full|reduced
// Builds the corpus in DIR from the repository at ROOT, scans it, prints the table on stdout
// and exits 1 when any item was refused.
import { buildCorpus, type CorpusScale } from "./build-corpus.js";
import { refusalCount, renderReport } from "./report.js";
import { scanCorpus } from "./scan-corpus.js";

const [root, dir, scale = "full"] = process.argv.slice(2);
if (root === undefined || dir === undefined || (scale !== "full" && scale !== "reduced")) {
  process.stderr.write("usage: main.mjs ROOT DIR full|reduced\n");
  process.exit(2);
}
const log = (line: string) => process.stderr.write(`${line}\n`);
const manifest = await buildCorpus({ dir, root, scale: scale as CorpusScale, log });
const results = await scanCorpus(dir, manifest, { log });
process.stdout.write(`${renderReport(results)}\n`);
process.exit(refusalCount(results) > 0 ? 1 : 0);
