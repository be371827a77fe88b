import { describe, expect, it } from "vitest";
import { isValidBranchName, publicRemoteUrl, safeBranchName } from "./workspace.js";

describe("publicRemoteUrl", () => {
  it.each([
    ["https://user:s3cret@github.com/o/r.git", "https://github.com/o/r.git"],
    ["https://ghp_token123@github.com/o/r.git", "https://github.com/o/r.git"],
    ["http://x-access-token:abc@git.example.test/r", "http://git.example.test/r"],
    ["https://github.com/o/r.git", "https://github.com/o/r.git"],
    ["ssh://git@git.example.test:2222/o/r.git", "ssh://git@git.example.test:2222/o/r.git"],
    ["ssh://git:pw@git.example.test/o/r.git", "ssh://git@git.example.test/o/r.git"],
    ["git@github.com:o/r.git", "git@github.com:o/r.git"],
    ["git:pw@github.com:o/r.git", "github.com:o/r.git"],
  ])("%s -> %s", (url, shown) => {
    expect(publicRemoteUrl(url)).toBe(shown);
  });

  it.each(["/srv/git/r.git", "../r.git", "file:///srv/git/r.git", "https://[bad"])(
    "gives no URL for %s, which means nothing inside the bottle",
    (url) => {
      expect(publicRemoteUrl(url)).toBeNull();
    },
  );
});

describe("isValidBranchName", () => {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a branch name that holds shell syntax
  it.each(["main", "fix/a-b_c.d", "fix$(touch${IFS}x)", "fix`id`", "f\u202eoo", "-rf", "a;b"])(
    "accepts %j, as git does",
    (name) => {
      expect(isValidBranchName(name)).toBe(true);
    },
  );

  it.each([
    "",
    "a..b",
    "a b",
    "a:b",
    "a\\b",
    "a\nb",
    "a\u001bb",
    ".a",
    "a/.b",
    "a.lock",
    "a/",
    "a//b",
    "a@{1}",
    "a~1",
    "a^",
    "a?",
    "a*",
    "a[b",
    "a.",
  ])("refuses %j, as git does", (name) => {
    expect(isValidBranchName(name)).toBe(false);
  });
});

describe("safeBranchName", () => {
  it("keeps plain names", () => {
    expect(safeBranchName("feature/add-x_1.2")).toEqual({
      name: "feature/add-x_1.2",
      renamed: false,
    });
  });

  it.each([
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a branch name that holds shell syntax
    "fix$(touch${IFS}$HOME/x)",
    "fix`id`",
    "a;rm -rf ~",
    "it's",
    "f\u202eoo",
    "caf\u00e9",
    "x/-rf",
    "x/.hidden",
  ])(
    "renames %j to letters, digits and . _ - / only, with no part that starts with - or .",
    (name) => {
      const { name: safe, renamed } = safeBranchName(name);
      expect(renamed).toBe(true);
      expect(safe).toMatch(/^[A-Za-z0-9._/-]+$/);
      for (const part of safe.split("/")) expect(part).toMatch(/^[A-Za-z0-9_]/);
      expect(isValidBranchName(safe)).toBe(true);
    },
  );

  it("keeps two names that clean up alike apart", () => {
    expect(safeBranchName("a$b").name).not.toBe(safeBranchName("a`b").name);
  });
});
