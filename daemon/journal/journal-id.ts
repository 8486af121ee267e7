import { Code } from "@connectrpc/connect";
import { TetherError } from "../errors.js";

/** Journal ids: safe in resource names, URLs and file names alike. */
export const JOURNAL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,511}$/;

/** Refuses an id JOURNAL_ID_PATTERN does not match, saying what an id may hold. */
export function validateJournalId(name: string): void {
  if (!JOURNAL_ID_PATTERN.test(name)) {
    throw new TetherError(
      Code.InvalidArgument,
      "INVALID_NAME",
      `invalid journal id ${JSON.stringify(name)}: use 1-512 characters of letters, digits, '.', '_', ':' or '-', starting with a letter or digit`,
      { field: "name" },
    );
  }
}

/** A journal that does not exist, and where to find the ones that do. */
export function journalNotFound(name: string): TetherError {
  return new TetherError(
    Code.NotFound,
    "JOURNAL_NOT_FOUND",
    `journal ${name} does not exist: check the id (tether journal ls or ListJournals shows them), or append to create it`,
    { journal: name },
  );
}

/** A journal removed while its reader read it (an exec's output, removed with the exec). */
export function journalRemoved(name: string, described: string): TetherError {
  return new TetherError(Code.NotFound, "JOURNAL_REMOVED", `${described} was removed while this call read it: nothing of it is kept`, { journal: name });
}
