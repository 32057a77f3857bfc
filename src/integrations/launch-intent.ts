/**
 * At most one launch per task run (SPEC §7). Before a task asks an external system to start work,
 * it persists a launch intent with a fresh id and puts that id on the work it creates (an AWX extra
 * var, the TFE run message). If O3 dies between the call and its own write of the answer, the next
 * instance finds the intent without an external id, and looks the work up by the id before it ever
 * launches again. A look-up that cannot be made is retried; it is never replaced by a blind launch.
 */
import { randomUUID } from 'node:crypto';

/** A persisted intent to launch external work. */
export interface LaunchIntent {
  /** Unique per intent; the marker carried by the external work. */
  id: string;
  /** The attempt of the task run that recorded it (see attemptKey). */
  attempt_key: string;
  /** When it was recorded, in epoch milliseconds. */
  at: number;
}

/**
 * How long after an intent was recorded a look-up may conclude "not launched". A request cut off
 * by a crash can still be processed by the external system for a moment; looking earlier could
 * miss the work it creates and launch it twice.
 */
export const LOOKUP_GRACE_MS = 2000;

/** Identifies one attempt of one task run: a rerun after failure is a new attempt (or a new run). */
export function attemptKey(taskRunUuid: string, attempt: number): string {
  return `${taskRunUuid}#${attempt}`;
}

/** A new intent for the given attempt. */
export function newIntent(key: string, now: number): LaunchIntent {
  return { id: randomUUID(), attempt_key: key, at: now };
}

/** Milliseconds until the intent may be looked up conclusively (0 when it may be now). */
export function graceLeftMs(intent: LaunchIntent, now: number): number {
  return Math.max(0, intent.at + LOOKUP_GRACE_MS - now);
}

/** The delay before the next look-up after `failures` failed ones: 1 s doubling to 30 s. */
export function lookupBackoffMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}
