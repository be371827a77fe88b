// The bench's table: one row per item kind (items, bytes, refusals, scan speed), then one line
// per refusal with its item, rule and place. Never a value: the engine's findings hold none.
import type { ItemResult } from "./scan-corpus.js";

const MIB = 1024 * 1024;

export function renderReport(results: readonly ItemResult[]): string {
  const kinds = new Map<string, ItemResult[]>();
  for (const r of results) {
    const key = r.item.kind;
    kinds.set(key, [...(kinds.get(key) ?? []), r]);
  }
  const rows = [
    "| kind | items | bytes | refusals | MiB/s |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  const line = (name: string, of: readonly ItemResult[]) => {
    const bytes = of.reduce((n, r) => n + r.bytes, 0);
    const ms = of.reduce((n, r) => n + r.ms, 0);
    const refused = of.filter((r) => r.refusals.length > 0).length;
    const speed = ms > 0 ? (bytes / MIB / (ms / 1000)).toFixed(1) : "-";
    rows.push(`| ${name} | ${of.length} | ${bytes.toLocaleString("en")} | ${refused} | ${speed} |`);
  };
  for (const [kind, of] of kinds) line(kind, of);
  line("**all**", results);
  const refusals = results.flatMap((r) =>
    r.refusals.map((f) => `- ${r.item.kind} \`${r.item.name}\`: ${f.rule} at ${f.place}`),
  );
  return [
    ...rows,
    "",
    ...(refusals.length > 0 ? ["Refusals:", "", ...refusals] : ["Refusals: none."]),
  ].join("\n");
}

export function refusalCount(results: readonly ItemResult[]): number {
  return results.filter((r) => r.refusals.length > 0).length;
}
