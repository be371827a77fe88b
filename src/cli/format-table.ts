// Plain aligned columns for terminal output. Cells holding bottle-derived text are made safe
// by the caller with terminalSafe (which also bounds their width); the table defuses any
// control left in a cell as a last resort, so one cannot redraw the rows around it.
import { defuseControls } from "../shared/terminal-text.js";

export function formatTable(header: string[], rows: string[][]): string {
  const cells = rows.map((r) => r.map((c) => defuseControls(c, { multiline: false })));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[header, ...cells].map(line).join("\n")}\n`;
}
