/**
 * CliError: a failure the user sees as one sentence on stderr and an exit
 * code. toMessage turns any thrown value into such a sentence.
 */
import { EXIT_FAILURE, EXIT_USAGE } from './exit-codes.js';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error: the command line is wrong. */
export function usageError(message: string): CliError {
  return new CliError(message, EXIT_USAGE);
}

/** One sentence for any error: capitalized, ending in a period, on one line. */
export function toMessage(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  const oneLine = raw.replace(/\s*\n\s*/g, ' ').trim() || 'Unknown error';
  const capital = oneLine[0]!.toUpperCase() + oneLine.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export function exitCodeOf(e: unknown): number {
  return e instanceof CliError ? e.exitCode : EXIT_FAILURE;
}
