/**
 * What task code throws to fail on purpose. `retryable` failures (a 5xx, a dropped connection) may
 * be tried again by the engine; `nonRetryable` ones (a 401, a missing variable) end the task.
 */
export class TaskFailure extends Error {
  readonly retryable: boolean;

  private constructor(message: string, retryable: boolean, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'TaskFailure';
    this.retryable = retryable;
  }

  /** A failure worth trying again (the network, a busy server). */
  static retryable(message: string, cause?: unknown): TaskFailure {
    return new TaskFailure(message, true, cause);
  }

  /** A failure that trying again cannot fix. */
  static nonRetryable(message: string, cause?: unknown): TaskFailure {
    return new TaskFailure(message, false, cause);
  }
}
