// Calls back when pipelock's policy file changes. Watches the directory (editors and atomic
// writers replace the file by rename) and the file itself (a Compose single-file bind mount
// only ever sees in-place writes, which the container's directory watch does not report).
// Events are debounced: one write often fires several.
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

export interface ConfigWatcher {
  close(): void;
}

export function watchConfigFile(
  path: string,
  onChange: () => void,
  debounceMs = 150,
): ConfigWatcher {
  const name = basename(path);
  let timer: NodeJS.Timeout | undefined;
  let fileWatcher: FSWatcher | undefined;
  let closed = false;

  const schedule = () => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      armFileWatcher();
      onChange();
    }, debounceMs);
  };
  // Re-armed after every change: after a rename the old watch follows a dead inode.
  const armFileWatcher = () => {
    fileWatcher?.close();
    fileWatcher = tryWatch(path, schedule);
  };
  const dirWatcher = tryWatch(dirname(path), (filename) => {
    if (filename === null || filename === name) schedule();
  });
  armFileWatcher();

  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      dirWatcher?.close();
      fileWatcher?.close();
    },
  };
}

function tryWatch(
  target: string,
  listener: (filename: string | null) => void,
): FSWatcher | undefined {
  try {
    const watcher = watch(target, { persistent: false }, (_event, filename) =>
      listener(filename === null ? null : String(filename)),
    );
    watcher.on("error", () => watcher.close());
    return watcher;
  } catch {
    return undefined;
  }
}
