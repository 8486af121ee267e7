import { invalidArgument } from "../errors.js";

/** A request's `session` field, refused by its own name when empty (Sessions' lookup speaks of `name`, the SessionService's field). */
export function sessionField(session: string): string {
  if (session === "") throw invalidArgument("session", "name the session in the session field: sessions/{id}, or an id prefix");
  return session;
}
