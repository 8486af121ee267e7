const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z0-9_.-]+)\s*\}\}/g;

/** What a template can refer to: `{{ inputs.NAME }}`, `{{ xcom.TASK }}`, `{{ env.NAME }}`. */
export interface TemplateScope {
  readonly inputs: Readonly<Record<string, string>>;
  readonly xcom: Readonly<Record<string, string>>;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Renders placeholders; an unknown one renders empty, as in Jinja, so a condition on it is false. */
export function renderTemplate(template: string, scope: TemplateScope): string {
  return template.replace(PLACEHOLDER, (_, space: string, key: string) => {
    switch (space) {
      case "inputs":
        return scope.inputs[key] ?? "";
      case "xcom":
        return scope.xcom[key] ?? "";
      case "env":
        return scope.env[key] ?? "";
      default:
        return "";
    }
  });
}

/** A rendered condition is false when it is empty or says no. */
export function isTruthy(rendered: string): boolean {
  return !/^(|false|0|no|off)$/i.test(rendered.trim());
}
