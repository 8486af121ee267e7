/**
 * How the CLI prints and parses the contract's enums. The caller passes the
 * generated enum (RunStatus, ExecStatus ...), so a command loads only the
 * generated files it uses: each one builds its descriptors as it loads, and
 * importing them all here cost every command that printed one enum ~5 ms.
 */

/** A generated enum as an object: its names by value (and values by name). */
type GeneratedEnum = Readonly<Record<number, string>>;

/** The lower-case name the CLI prints for `value` ("running", "failed-to-start"). */
export function enumName(names: GeneratedEnum, value: number): string {
  return (names[value] ?? "unknown").toLowerCase().replaceAll("_", "-");
}

/** The value the CLI prints as `name` (any case), or undefined; never the UNSPECIFIED value (0). */
export function enumFromName<E extends number>(names: GeneratedEnum, name: string): E | undefined {
  const value = (names as unknown as Readonly<Record<string, unknown>>)[name.toUpperCase().replaceAll("-", "_")];
  return typeof value === "number" && value !== 0 ? (value as E) : undefined;
}
