import { describe, expect, it } from "vitest";
import { enumFromName, enumName } from "../../client/enum-names.js";
import { ExecStatus } from "../../gen/tether/v1/exec_pb.js";
import { SessionStatus } from "../../gen/tether/v1/session_pb.js";

describe("the CLI's enum names", () => {
  it("prints a value lower-case with dashes, and an unknown one as unknown", () => {
    expect(enumName(ExecStatus, ExecStatus.FAILED_TO_START)).toBe("failed-to-start");
    expect(enumName(SessionStatus, SessionStatus.CANCELLED)).toBe("cancelled");
    expect(enumName(SessionStatus, 99)).toBe("unknown");
  });

  it("parses a printed name in any case, never to UNSPECIFIED", () => {
    expect(enumFromName(SessionStatus, "Expired")).toBe(SessionStatus.EXPIRED);
    expect(enumFromName(ExecStatus, "failed-to-start")).toBe(ExecStatus.FAILED_TO_START);
    expect(enumFromName(SessionStatus, "unspecified")).toBeUndefined();
    expect(enumFromName(SessionStatus, "done")).toBeUndefined();
    expect(enumFromName(SessionStatus, "toString")).toBeUndefined();
  });
});
