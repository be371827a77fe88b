import { describe, expect, it } from "vitest";
import { parseSecretRules, renderSecretRules } from "./secret-rules.js";

describe("parseSecretRules", () => {
  it("reads back exactly the secrets renderSecretRules wrote, whatever they hold", () => {
    const secrets = [
      { name: "PLAIN", value: "cbsecret-0123456789" },
      { name: "AWKWARD", value: "a|b'''c\"d\\x{41}\n\u00e9\u{1f511} e" },
    ];
    const file = [
      'title = "git-gate: gitleaks default rules and this bottle\'s secrets"',
      '[extend]\npath = "/usr/local/share/git-gate/gitleaks.toml"\n',
      renderSecretRules(secrets),
    ].join("\n");
    expect(parseSecretRules(file)).toEqual(secrets);
  });

  it("reads none from a file without bottle rules, and refuses a rule it cannot read", () => {
    expect(parseSecretRules("[[rules]]\nid = \"other\"\nregex = '''x'''\n")).toEqual([]);
    expect(() =>
      parseSecretRules('[[rules]]\nid = "bottle-secret-0"\ndescription = "x"\n'),
    ).toThrow("does not read back");
  });
});
