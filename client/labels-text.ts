import { escapeControls } from "../common/format.js";

/** Labels (a session's, an exec's) as `k=v,k=v`, sorted by key, control characters escaped. */
export function labelsText(labels: Readonly<Record<string, string>>): string {
  return escapeControls(
    Object.entries(labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(","),
  );
}
