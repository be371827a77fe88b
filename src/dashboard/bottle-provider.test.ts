import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BottleProviders } from "./bottle-provider.js";

const homes: string[] = [];
afterEach(async () => {
  for (const h of homes.splice(0)) await rm(h, { recursive: true, force: true });
});

async function homeWith(bottles: Record<string, string>): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "cb-dashboard-provider-"));
  homes.push(home);
  await mkdir(join(home, "bottles"));
  for (const [name, text] of Object.entries(bottles)) {
    await writeFile(join(home, "bottles", `${name}.md`), text);
  }
  return home;
}

const running = (bottle: string | null, slug = `${bottle}-1a2b`) => ({
  slug,
  bottle,
  createdAt: "2030-01-01T00:00:00.000Z",
});

describe("BottleProviders", () => {
  it("reads each bottle's provider from its manifest, inherited ones and the default too", async () => {
    const home = await homeWith({
      base: "---\nagent: gemini\n---\n",
      gem: "---\nextends: base\n---\n",
      cx: "---\nagent: codex\n---\n",
      plain: "---\negress:\n  allow: [example.test]\n---\n",
    });
    const providers = new BottleProviders();
    expect(await providers.providerOf(home, running("gem"))).toBe("gemini");
    expect(await providers.providerOf(home, running("cx"))).toBe("codex");
    expect(await providers.providerOf(home, running("plain"))).toBe("claude");
  });

  it("keeps what it read for a running bottle, even when the manifest changes", async () => {
    const home = await homeWith({ cx: "---\nagent: codex\n---\n" });
    const providers = new BottleProviders();
    expect(await providers.providerOf(home, running("cx"))).toBe("codex");
    await writeFile(join(home, "bottles", "cx.md"), "---\nagent: gemini\n---\n");
    expect(await providers.providerOf(home, running("cx"))).toBe("codex");
    // A new bottle from the same manifest reads it again.
    expect(await providers.providerOf(home, running("cx", "cx-9f8e"))).toBe("gemini");
  });

  it("says nothing it cannot read, and asks again the next time", async () => {
    const home = await homeWith({});
    const providers = new BottleProviders();
    expect(await providers.providerOf(home, running(null, "x-1"))).toBeNull();
    expect(await providers.providerOf(home, running("later"))).toBeNull();
    await writeFile(join(home, "bottles", "later.md"), "---\nagent: codex\n---\n");
    expect(await providers.providerOf(home, running("later"))).toBe("codex");
  });
});
