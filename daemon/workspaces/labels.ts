import { invalidArgument } from "../errors.js";

const LABEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_KEY_RULE = "use 1-63 letters, digits, '.', '_', '/' or '-'";
const LABEL_VALUE_MAX_LENGTH = 256;
const LABELS_MAX = 64;

/** One selector of a listing: the label `key` set, to `value` when the selector names one. */
export interface LabelSelector {
  readonly key: string;
  readonly value: string | undefined;
}

/** Refuses labels a workspace (or a session: `owner`) may not carry: too many, a key outside the pattern, a value too long. */
export function checkLabels(labels: Readonly<Record<string, string>>, owner = "a workspace"): void {
  const entries = Object.entries(labels);
  if (entries.length > LABELS_MAX) throw invalidArgument("labels", `${owner} takes at most ${LABELS_MAX} labels`);
  for (const [key, value] of entries) {
    if (!LABEL_KEY_PATTERN.test(key)) throw invalidArgument("labels", `label key ${JSON.stringify(key)} is not allowed: ${LABEL_KEY_RULE}`);
    if (value.length > LABEL_VALUE_MAX_LENGTH) throw invalidArgument("labels", `label ${key}'s value is longer than ${LABEL_VALUE_MAX_LENGTH} characters`);
  }
}

/**
 * A listing's label selectors, as kubectl's -l and docker ps --filter
 * label= take them: "k=v" (label k has the value v) or "k" (k is set). A
 * key no label could have is refused: it would select nothing, silently.
 */
export function parseLabelSelectors(selectors: readonly string[]): LabelSelector[] {
  if (selectors.length > LABELS_MAX) throw invalidArgument("label_selector", `a listing takes at most ${LABELS_MAX} label selectors`);
  return selectors.map((selector) => {
    const at = selector.indexOf("=");
    const key = at === -1 ? selector : selector.slice(0, at);
    if (!LABEL_KEY_PATTERN.test(key)) {
      throw invalidArgument("label_selector", `label selector ${JSON.stringify(selector)}: ${JSON.stringify(key)} is no label key (${LABEL_KEY_RULE}); write k=v, or k for any value`);
    }
    return { key, value: at === -1 ? undefined : selector.slice(at + 1) };
  });
}

/** Whether `labels` has every selector's label (as labelConditions selects rows). */
export function labelsMatch(labels: Readonly<Record<string, string>>, selectors: readonly LabelSelector[]): boolean {
  return selectors.every(({ key, value }) => (value === undefined ? Object.hasOwn(labels, key) : labels[key] === value));
}

/**
 * SQL conditions that select the rows whose JSON labels column (`column`)
 * has every selector's label, each with its parameters (named `label0`,
 * `value0`, ...), for a listing's query.
 */
export function labelConditions(column: string, selectors: readonly LabelSelector[]): { where: string[]; params: Record<string, string> } {
  const where: string[] = [];
  const params: Record<string, string> = {};
  selectors.forEach(({ key, value }, i) => {
    // A label key has none of JSON's quotes (LABEL_KEY_PATTERN): it goes into the path as it is.
    params[`label${i}`] = `$."${key}"`;
    if (value === undefined) where.push(`json_extract(${column}, @label${i}) IS NOT NULL`);
    else {
      where.push(`json_extract(${column}, @label${i}) = @value${i}`);
      params[`value${i}`] = value;
    }
  });
  return { where, params };
}
