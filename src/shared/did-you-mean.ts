// "Did you mean" for near-miss keys and names: the closest candidate by edit distance,
// if it is close enough that the suggestion is likely right.

/** The closest of `candidates` to `word`, or undefined when none is plausibly meant. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  // "identityFile", "Identity-File" and "identity_file" are the same key to a person.
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const folded = candidates.find((c) => fold(c) === fold(word));
  if (folded !== undefined) return folded;
  const limit = word.length <= 3 ? 1 : word.length <= 6 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** ' (did you mean "egress"?)', or "" when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? "" : ` (did you mean "${match}"?)`;
}

/** Edit distance where swapping two neighbours ("dve" → "dev") counts as one edit. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}
