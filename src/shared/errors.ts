// The one error type users see. Every failure that is the user's to fix (bad input,
// a missing engine) is a BottleError with a hint; anything else is a bug and the CLI
// says so. Only the CLI entry prints these.

export interface BottleErrorOptions {
  /** One line on how to fix it, shown under the message. */
  hint?: string;
  cause?: unknown;
  /** Process exit code the CLI uses; 2 for bad input, 1 otherwise. */
  exitCode?: number;
}

export class BottleError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, options: BottleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BottleError";
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad input: a plan file, a manifest, a flag. Exit code 2. */
export class InputError extends BottleError {
  constructor(message: string, options: Omit<BottleErrorOptions, "exitCode"> = {}) {
    super(message, { ...options, exitCode: 2 });
    this.name = "InputError";
  }
}
