import { ValidationError } from '@agent-team/core';

/** A matrix file that cannot be used: names the file, the field and the problem. */
export class MatrixError extends ValidationError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file} is not a valid experiment matrix:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

