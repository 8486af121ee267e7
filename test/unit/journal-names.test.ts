import { describe, expect, it } from "vitest";
import { describeJournal } from "../../daemon/journal-names.js";
import { outputJournal as execOutput } from "../../daemon/workspaces/exec-reads.js";
import { outputJournal as ptyOutput } from "../../daemon/workspaces/ptys.js";
import { eventsJournal, logJournal } from "../../daemon/sessions/session-journal.js";
import { streamJournal } from "../../daemon/sessions/stream-records.js";

describe("journal names in a reader's words", () => {
  it("names each resource's journal as made by its own module, and a client's journal as a journal", () => {
    expect(describeJournal(execOutput("e-4k2m9"))).toBe("exec e-4k2m9's output");
    expect(describeJournal(ptyOutput("p-4k2m9"))).toBe("pty p-4k2m9's output");
    expect(describeJournal(logJournal("s-4k2m9"))).toBe("session s-4k2m9's output");
    expect(describeJournal(eventsJournal("s-4k2m9"))).toBe("session s-4k2m9's events");
    expect(describeJournal(streamJournal("s-4k2m9", "ev.v1"))).toBe("stream ev.v1 of session s-4k2m9");
    expect(describeJournal("metrics.out")).toBe("journal metrics.out");
  });
});
