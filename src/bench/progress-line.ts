/**
 * Progress on a terminal: one line on stderr, rewritten in place about once a
 * second. Silent when stderr is not a TTY (pipes, CI, --json captured to a
 * file), so machine output stays clean.
 */

export class ProgressLine {
  private timer: NodeJS.Timeout | null = null;
  private readonly enabled: boolean;

  constructor(enabled: boolean) {
    this.enabled = enabled && process.stderr.isTTY === true;
  }

  /** Calls render() every intervalMs and shows its text until stop(). */
  start(render: () => string, intervalMs = 1000): void {
    if (!this.enabled) return;
    this.timer = setInterval(() => process.stderr.write(`\r\x1b[2K${render()}`), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      process.stderr.write('\r\x1b[2K');
    }
  }

  /** A one-off note (phase changes), shown only on a terminal. */
  note(text: string): void {
    if (this.enabled) process.stderr.write(`${text}\n`);
  }
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
