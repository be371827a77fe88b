// Lines out of a stream of chunks, bounded: for logs a bottle writes.
/**
 * Splits a byte stream into lines, keeping a partial last line for the next chunk. A line
 * longer than `maxLine` is dropped whole (and counted): a decision line is never that long.
 */
export class LineSplitter {
  private partial = "";
  private skipping = false;
  dropped = 0;

  constructor(private readonly maxLine = 64 * 1024) {}

  push(chunk: string): string[] {
    const parts = chunk.split("\n");
    const last = parts.pop() ?? "";
    const lines: string[] = [];
    for (const part of parts) {
      if (this.skipping) {
        this.skipping = false;
        this.partial = "";
        continue;
      }
      const line = this.partial + part;
      this.partial = "";
      if (line.length > this.maxLine) this.dropped += 1;
      else lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
    if (this.skipping) return lines;
    this.partial += last;
    if (this.partial.length > this.maxLine) {
      this.partial = "";
      this.skipping = true;
      this.dropped += 1;
    }
    return lines;
  }
}
