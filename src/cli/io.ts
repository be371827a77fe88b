// Where the CLI writes. Commands take this instead of touching process streams, so they
// can be run in-process by tests.
import { defuseControls } from "../shared/terminal-text.js";

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * `io` behind the safety net: every control, bidi or invisible character that reached the
 * output without going through `terminalSafe` (an error message quoting a file, a library's
 * text) is written as a visible `\uXXXX`, so the terminal never acts on it. Newlines and tabs
 * pass. The CLI writes no escape sequence of its own; `--json` output stays valid JSON.
 * stderr is always defused. stdout only when `stdoutIsTerminal` says so: piped, it carries
 * data (Compose YAML, rendered manifests) that must reach its file unchanged, and the fields
 * a bottle wrote are made safe by the printer before they get here in any case.
 */
export function defusedIo(io: CliIo, stdoutIsTerminal: () => boolean = () => true): CliIo {
  return {
    stdout: (text) => io.stdout(stdoutIsTerminal() ? defuseControls(text) : text),
    stderr: (text) => io.stderr(defuseControls(text)),
  };
}

export const processIo: CliIo = defusedIo(
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  },
  () => process.stdout.isTTY === true,
);
