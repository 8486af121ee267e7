import { randomBytes } from "node:crypto";

/**
 * The tokens of the runs live in bwrap workspaces, each naming the session
 * it may write to. A run gets one in its environment (TETHER_RUN_TOKEN) and
 * its tether calls carry it; on the sandbox's socket, a write to a session
 * (output, input, a wait, xcom) needs the token of a run of that session.
 * The sandbox's own PID namespace keeps other runs' environments, and so
 * their tokens, out of its sight.
 */
export class RunTokens {
  private readonly sessions = new Map<string, string>();

  /** A new token for a run of `sessionId`, valid until revoked. */
  grant(sessionId: string): string {
    const token = randomBytes(24).toString("base64url");
    this.sessions.set(token, sessionId);
    return token;
  }

  revoke(token: string): void {
    this.sessions.delete(token);
  }

  /** The session the token's run belongs to, or undefined for no live run's token. */
  sessionOf(token: string | null | undefined): string | undefined {
    return token === null || token === undefined ? undefined : this.sessions.get(token);
  }
}
