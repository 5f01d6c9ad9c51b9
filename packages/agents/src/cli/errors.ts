// Kept apart from context.ts (which loads @agent-team/core) so the CLI's entry point starts light.

/** A failure with the exit code to leave with: 1 a failed run, 2 bad usage or input. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
