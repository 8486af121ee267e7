/** `{{ SPACE.KEY }}` or `{{ SPACE.KEY | FILTER }}`. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9_.:-]+)\s*(?:\|\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\}\}/g;

/**
 * What a placeholder may pass its value through. A value is put in as it
 * is, as Zrb and GitHub Actions put theirs: in a shell command it is shell
 * text. `quote` makes it one word whatever it holds (`'`…`'`, a `'` in it as
 * `'\''`), as Ansible's quote filter does: for a value from someone else
 * (an agent, a pull request's title) that must not run as a command.
 */
const FILTERS: ReadonlyMap<string, (value: string) => string> = new Map([["quote", (value: string) => `'${value.replaceAll("'", "'\\''")}'`]]);

/** What a template can refer to: `{{ inputs.NAME }}`, `{{ xcom.TASK }}`, `{{ env.NAME }}`. */
export interface TemplateScope {
  readonly inputs: Readonly<Record<string, string>>;
  readonly xcom: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** A matrix task's values (`{{ matrix.NAME }}`), put in as the task file is read (matrix.ts). */
  readonly matrix?: Readonly<Record<string, string>>;
}

/**
 * Renders placeholders; an unknown one renders empty, as in Jinja, so a
 * condition on it is false. Those of a space in `kept` stay as written (a
 * plan's `{{ xcom.TASK }}`, known once TASK has run).
 */
export function renderTemplate(template: string, scope: TemplateScope, kept?: ReadonlySet<string>): string {
  return template.replace(PLACEHOLDER, (placeholder: string, space: string, key: string, filter: string | undefined) => {
    if (kept?.has(space) === true) return placeholder;
    const value = lookup(scope, space, key);
    return filter === undefined ? value : (FILTERS.get(filter)?.(value) ?? value);
  });
}

/** The value `space.key` names; only a record's own keys count (`inputs.constructor` is no input). */
function lookup(scope: TemplateScope, space: string, key: string): string {
  const values = space === "inputs" ? scope.inputs : space === "xcom" ? scope.xcom : space === "env" ? scope.env : space === "matrix" ? scope.matrix : undefined;
  return values !== undefined && Object.hasOwn(values, key) ? (values[key] ?? "") : "";
}

/** What a placeholder may read: `{{ inputs.NAME }}`, `{{ xcom.TASK }}`, `{{ env.NAME }}`. */
export const TEMPLATE_SPACES = ["inputs", "xcom", "env"];

/** The placeholders of `template`: what each reads (`space.key`) and the filter it names, if any. */
export function placeholders(template: string): { space: string; key: string; filter: string | undefined }[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => ({ space: m[1]!, key: m[2]!, filter: m[3] }));
}

/** Whether a filter of that name exists. */
export function isFilter(name: string): boolean {
  return FILTERS.has(name);
}

/** The filters there are, for a message naming them. */
export const FILTER_NAMES = [...FILTERS.keys()];

/** A rendered condition is false when it is empty or says no. */
export function isTruthy(rendered: string): boolean {
  return !/^(|false|0|no|off)$/i.test(rendered.trim());
}
