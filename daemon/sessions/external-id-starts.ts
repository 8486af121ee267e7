import type { SessionView } from "./types.js";

/**
 * Starts made idempotent by an external id: a start whose id names a
 * stored session returns that one; a start whose id names a start under
 * way waits for it and returns its session (or, when it failed, starts as
 * if it were the first). Without the second rule, starts sent at once with
 * one id each passed the store's check before any was committed, and the
 * unique index then failed the commit they shared: every one of them.
 */
export class ExternalIdStarts {
  private readonly underWay = new Map<string, Promise<SessionView>>();

  constructor(
    /** The stored session started with an external id, if any (it refuses an id too long). */
    private readonly stored: (externalId: string) => SessionView | undefined,
  ) {}

  async start(externalId: string, create: () => Promise<SessionView>): Promise<{ session: SessionView; existed: boolean }> {
    for (;;) {
      const existing = this.stored(externalId);
      if (existing !== undefined) return { session: existing, existed: true };
      if (externalId === "") return { session: await create(), existed: false };
      const pending = this.underWay.get(externalId);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const started = create();
    this.underWay.set(externalId, started);
    try {
      return { session: await started, existed: false };
    } finally {
      this.underWay.delete(externalId);
    }
  }
}
