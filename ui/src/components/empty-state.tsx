/** What a page shows when it has nothing to list: what that means and what to do next. */
import type { ComponentChildren } from 'preact';

/** The empty state. */
export function EmptyState({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <svg class="empty-icon" viewBox="0 0 48 48" aria-hidden="true">
        <rect x="6" y="10" width="36" height="28" rx="4" />
        <path d="M6 18h36M14 26h12M14 31h8" />
      </svg>
      <p class="empty-title">{title}</p>
      {children && <div class="empty-text">{children}</div>}
    </div>
  );
}
