/**
 * An emulator's pending timers, all cancelled by `stop()`: retries and grace periods must not fire
 * (or keep the process alive) after the emulator has stopped.
 */
export class StoppableTimers {
  stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  /** Resolves true after `ms`, or false at once (or when stopped meanwhile). */
  sleep(ms: number): Promise<boolean> {
    if (this.stopped) return Promise.resolve(false);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve(!this.stopped);
      }, ms);
      this.timers.add(t);
    });
  }

  /** Runs `fn` after `ms` unless stopped first. */
  later(fn: () => void, ms: number): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
