// Credential patterns, modelled on gitleaks' default rules for the common providers. Each rule
// names the literals ("anchors", case-sensitive) that any match must contain; the regex runs
// only around the places the prefilter saw one, within the rule's window. Every regex must cost
// a bounded amount per start position (bounded quantifiers before anything that can fail, or a
// guard that rejects starts inside a run), so a hostile body full of anchors stays linear.

export interface CredentialRule {
  id: string;
  /** Reads after "matches rule <id>": "a GitHub personal access token". */
  description: string;
  /** Literals every match contains, matched case-sensitively by the prefilter. */
  anchors: readonly string[];
  /**
   * Where a match can lie around an anchor: characters before its start and after its end.
   * Defaults to DEFAULT_WINDOW. A match longer than the window is reported cut at its end.
   */
  window?: { before: number; after: number };
  /** Needs the `g` flag. */
  pattern: RegExp;
  /** How many leading characters of a match are a fixed prefix, safe to show in a preview. */
  previewChars: number;
  /** Matches this returns true for are not findings (documentation examples). */
  ignore?: (match: string) => boolean;
}

const B64 = "A-Za-z0-9+/";

export const DEFAULT_WINDOW = { before: 8, after: 512 } as const;

export const CREDENTIAL_RULES: readonly CredentialRule[] = [
  {
    id: "aws-access-token",
    description: "an AWS access key id",
    // As broad as gitleaks' rule: its prefixes and [A-Z0-9], not only base32's [A-Z2-7].
    anchors: [
      "AKIA",
      "ASIA",
      "ABIA",
      "ACCA",
      "AGPA",
      "AIDA",
      "AROA",
      "AIPA",
      "ANPA",
      "ANVA",
      "A3T",
    ],
    pattern: /\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b/g,
    previewChars: 4,
    ignore: (m) => m.endsWith("EXAMPLE"),
  },
  {
    id: "aws-secret-access-key",
    description: "an AWS secret access key",
    anchors: [
      "aws",
      "AWS",
      "Aws",
      "secret_access_key",
      "SECRET_ACCESS_KEY",
      "SecretAccessKey",
      "secretAccessKey",
      "secret-access-key",
    ],
    window: { before: 8, after: 160 },
    pattern: new RegExp(
      `(?:aws.{0,20}?['"\`]|secret[_.-]?access[_.-]?key\\\\?["'\`]?\\s{0,5}(?:=>|:=|[:=])\\s{0,5}\\\\?["'\`]?)[${B64}]{40}(?![${B64}=])`,
      "gi",
    ),
    previewChars: 0,
    ignore: (m) => m.endsWith("EXAMPLEKEY"),
  },
  prefixed("github-pat", "a GitHub personal access token", "ghp_", /ghp_[0-9a-zA-Z]{36}/g),
  prefixed("github-oauth", "a GitHub OAuth access token", "gho_", /gho_[0-9a-zA-Z]{36}/g),
  {
    id: "github-app-token",
    description: "a GitHub App token",
    anchors: ["ghu_", "ghs_"],
    pattern: /(?:ghu|ghs)_[0-9a-zA-Z]{36}/g,
    previewChars: 4,
  },
  prefixed("github-refresh-token", "a GitHub refresh token", "ghr_", /ghr_[0-9a-zA-Z]{36}/g),
  prefixed(
    "github-fine-grained-pat",
    "a GitHub fine-grained personal access token",
    "github_pat_",
    /github_pat_\w{82}/g,
  ),
  prefixed("gitlab-pat", "a GitLab personal access token", "glpat-", /glpat-[\w-]{20,}/g),
  {
    id: "gitlab-token",
    description: "a GitLab deploy, runner, trigger or feed token",
    anchors: ["glptt-", "gldt-", "glrt-", "glft-", "glsoat-", "glcbt-"],
    pattern: /(?:glptt|gldt|glrt|glft|glsoat|glcbt)-[\w-]{20,}/g,
    previewChars: 4,
  },
  {
    id: "slack-token",
    description: "a Slack token",
    anchors: ["xoxa-", "xoxb-", "xoxe-", "xoxo-", "xoxp-", "xoxr-", "xoxs-", "xapp-"],
    pattern: /xox[abeoprs]-\d{1,20}-[0-9A-Za-z-]{8,}|xapp-\d-[A-Z0-9]{1,20}-\d{1,20}-[a-z0-9]{8,}/g,
    previewChars: 5,
  },
  {
    id: "slack-webhook-url",
    description: "a Slack webhook URL",
    anchors: ["hooks.slack.com/"],
    pattern: /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9+/]{43,56}/g,
    previewChars: 16,
  },
  {
    id: "stripe-access-token",
    description: "a Stripe secret or restricted key",
    anchors: ["sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"],
    pattern: /(?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99}/g,
    previewChars: 8,
  },
  {
    id: "anthropic-api-key",
    description: "an Anthropic API key or OAuth token",
    anchors: ["sk-ant-"],
    pattern: /sk-ant-(?:api|admin|oat|ort)\d{2}-[\w-]{80,}/g,
    previewChars: 7,
  },
  {
    id: "openai-api-key",
    description: "an OpenAI API key",
    anchors: ["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"],
    pattern: /sk-(?:proj|svcacct|admin)-[\w-]{40,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}/g,
    // The legacy shape starts 23 characters before its marker.
    window: { before: 32, after: 512 },
    previewChars: 3,
  },
  prefixed("gcp-api-key", "a Google API key", "AIza", /AIza[\w-]{35}/g),
  {
    id: "private-key",
    description: "a private key (PEM)",
    anchors: ["-----BEGIN"],
    pattern: new RegExp(
      `-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\\s\\S]{0,300}?[${B64}=]{40}`,
      "g",
    ),
    previewChars: 10,
  },
  {
    id: "jwt",
    description: "a JSON Web Token",
    anchors: ["eyJ"],
    pattern: /(?<![\w-])eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/g,
    // Claims can be long: the whole header and payload must fit.
    window: { before: 8, after: 32 * 1024 },
    previewChars: 3,
  },
  prefixed("npm-access-token", "an npm access token", "npm_", /(?<![\w-])npm_[A-Za-z0-9]{36}/g),
  prefixed(
    "pypi-upload-token",
    "a PyPI upload token",
    "pypi-AgEIcHlwaS5vcmc",
    /pypi-AgEIcHlwaS5vcmc[\w-]{50,}/g,
  ),
  prefixed(
    "huggingface-access-token",
    "a Hugging Face access token",
    "hf_",
    /(?<![\w-])hf_[A-Za-z]{34}(?![A-Za-z0-9])/g,
  ),
];

function prefixed(
  id: string,
  description: string,
  anchor: string,
  pattern: RegExp,
): CredentialRule {
  return { id, description, anchors: [anchor], pattern, previewChars: anchor.length };
}
