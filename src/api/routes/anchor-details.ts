/** Keeps the JSON pointers of error details inside the document that was sent. */
import type { ErrorDetail } from '../../errors.js';

/**
 * Each detail's pointer cut back to the first member the document lacks. A missing variable of
 * task T is reported at `/tasks/T`; when the request has no `tasks` at all, that names nothing a
 * client can find, while `/tasks` names the member to add.
 */
export function anchorDetails(document: unknown, details: ErrorDetail[]): ErrorDetail[] {
  return details.map((detail) => ({ ...detail, path: anchorPointer(document, detail.path) }));
}

/** The pointer up to and including its first segment that `document` does not have. */
export function anchorPointer(document: unknown, pointer: string): string {
  if (pointer === '' || !pointer.startsWith('/')) return pointer;
  const raw = pointer.slice(1).split('/');
  let current: unknown = document;
  for (let i = 0; i < raw.length; i++) {
    const key = (raw[i] ?? '').replaceAll('~1', '/').replaceAll('~0', '~');
    const holder =
      current !== null && typeof current === 'object' ? (current as Record<string, unknown>) : null;
    if (holder === null || !Object.hasOwn(holder, key)) return `/${raw.slice(0, i + 1).join('/')}`;
    current = holder[key];
  }
  return pointer;
}
