/**
 * The word of `choices` closest to `word`, when one is close enough to be
 * what was meant (git's "did you mean"): one edit away (a letter added,
 * dropped, changed, or two swapped), two for a word of five letters or
 * more; undefined when none is ("nope" is not "one").
 */
export function closestWord(word: string, choices: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = word.length >= 5 ? 3 : 2;
  for (const choice of choices) {
    const distance = editDistance(word, choice);
    if (distance < bestDistance) {
      best = choice;
      bestDistance = distance;
    }
  }
  return best;
}

/** Edits from `a` to `b`, a swap of two neighbours counting as one (optimal string alignment distance). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** Where a word none of `choices` is: the one meant when one is close (closestWord), then what `choices` are, named as `what`. */
export function choicesHint(word: string, choices: readonly string[], what: string): string {
  return meantThen(word, choices, `the ${what} are ${choices.join(", ") || "(none)"}`);
}

/** `then` (a clause that lists the choices), after the one of `choices` meant when one is close to `word` (closestWord). */
export function meantThen(word: string, choices: readonly string[], then: string): string {
  const meant = closestWord(word, choices);
  return meant === undefined ? then : `did you mean ${meant}? ${then[0]!.toUpperCase()}${then.slice(1)}`;
}
