/**
 * Polling of external work. Most AWX jobs and TFE plans take minutes, but many take seconds; the
 * first polls come quickly (a quarter second, growing) and, after a few seconds, the ping interval
 * of the template or class takes over, so a short job is not held up by a long interval.
 */

/** How long the quick polls last after the work was first seen. */
const FAST_WINDOW_MS = 4000;
const FIRST_POLL_MS = 250;

/** The delay before the next poll while in the quick window, else undefined (use the interval). */
export function fastStartDelayMs(followingSinceMs: number | undefined, now: number): number | undefined {
  if (followingSinceMs === undefined) return FIRST_POLL_MS;
  const elapsed = now - followingSinceMs;
  if (elapsed >= FAST_WINDOW_MS) return undefined;
  return Math.max(FIRST_POLL_MS, Math.round(elapsed / 2));
}
