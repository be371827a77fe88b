// A test file's own home for the CLI, made before its tests and removed after them, with
// `cleanup --all` run in it first so that no bottle a failed test left keeps running.
import { afterAll, beforeAll } from "vitest";
import { makeTestHome, type TestHome } from "./cli-process.js";

/**
 * Call in a describe body, before the file's own hooks: its afterAll then runs after theirs
 * (vitest runs after-hooks in reverse order), once they have stopped what they started.
 * `setup` writes the manifests. The members are read through to the home, so use them in
 * hooks and tests.
 */
export function useTestHome(setup?: (home: TestHome) => Promise<void>): TestHome {
  let home: TestHome | undefined;
  beforeAll(async () => {
    home = await makeTestHome();
    await setup?.(home);
  });
  afterAll(async () => {
    await home?.run(["cleanup", "--yes", "--all"]);
    await home?.dispose();
  });
  return new Proxy({} as TestHome, {
    get(_, key) {
      // Not a promise: `await` and async returns look for `then`.
      if (key === "then") return undefined;
      if (home === undefined) throw new Error("the test home is made in the file's beforeAll");
      return home[key as keyof TestHome];
    },
  });
}
