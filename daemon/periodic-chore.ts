/**
 * A chore the daemon does every `intervalMs` only while there is something
 * to do: `poke()` starts it, and it stops once a round says nothing is left
 * (returns false), so an idle daemon does not wake for it. A poke while it
 * runs costs a comparison (commits poke it).
 */
export class PeriodicChore {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs: number,
    private readonly round: () => boolean,
  ) {}

  poke(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => {
      if (!this.round()) this.stop();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Whether it runs now (for tests and the daemon's status). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
