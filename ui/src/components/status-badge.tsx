/** A request status or task state as a coloured badge (colours in styles.css, keyed by `data-state`). */

/** The badge. */
export function StatusBadge({ state, label }: { state: string; label?: string }) {
  return (
    <span class="badge" data-state={state}>
      <span class="badge-dot" aria-hidden="true" />
      {label ?? state}
    </span>
  );
}
