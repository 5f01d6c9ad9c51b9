/**
 * SIGINT and SIGTERM for a command that runs a team: the first signal aborts
 * the run (in-flight tasks are handed back, the summary printed) and the
 * command then exits 130 (SIGINT) or 143 (SIGTERM), as shells expect; a
 * second signal exits at once with the same code.
 */
export interface Interrupt {
  /** Aborts on the first signal; its reason names the signal. */
  readonly signal: AbortSignal;
  /** 130 after SIGINT, 143 after SIGTERM, null while no signal came. */
  exitCode(): 130 | 143 | null;
  /** Removes the handlers (Node's default behaviour returns). */
  dispose(): void;
}

const CODES = { SIGINT: 130, SIGTERM: 143 } as const;

export function interruptOnSignals(): Interrupt {
  const controller = new AbortController();
  let code: 130 | 143 | null = null;
  const onSignal = (sig: keyof typeof CODES) => {
    if (code !== null) process.exit(code);
    code = CODES[sig];
    process.stderr.write(`\n${sig}: handing in-flight tasks back (again to quit at once)\n`);
    controller.abort(new Error(`interrupted by ${sig}; in-flight tasks handed back`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    exitCode: () => code,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
