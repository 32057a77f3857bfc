/** JSON pointers (RFC 6901) over plain JSON documents, for tests that mutate documents and check error paths. */

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Escapes `~` and `/` in one segment. */
export function escapeSegment(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The unescaped segments of a pointer ('' has none). */
export function segmentsOf(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** True for arrays and objects. */
export function isContainer(value: unknown): value is Json[] | { [key: string]: Json } {
  return value !== null && typeof value === 'object';
}

/** The value a pointer names, or `undefined` when it names nothing. */
export function resolvePointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const segment of segmentsOf(pointer)) {
    if (!isContainer(current) || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** True when the pointer names a value of the document, or a missing member of an object or array that exists. */
export function pointsIntoDocument(document: unknown, pointer: string): boolean {
  if (resolvePointer(document, pointer) !== undefined) return true;
  return pointer !== '' && isContainer(resolvePointer(document, parentOf(pointer)));
}

/** Every pointer of a document (the root is ''). */
export function pointersOf(document: Json, prefix = ''): string[] {
  const here = [prefix];
  if (!isContainer(document)) return here;
  for (const [key, value] of Object.entries(document))
    here.push(...pointersOf(value, `${prefix}/${escapeSegment(key)}`));
  return here;
}

/** The parent pointer of a non-root pointer. */
export function parentOf(pointer: string): string {
  return pointer.slice(0, pointer.lastIndexOf('/'));
}

/** A copy of the document with the value at `pointer` set (the root replaced when pointer is ''); unchanged when its parent is gone. */
export function replaceAt(document: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const copy = structuredClone(document);
  const holder = resolvePointer(copy, parentOf(pointer));
  if (!isContainer(holder)) return copy;
  (holder as Record<string, Json>)[segmentsOf(pointer).at(-1)!] = value;
  return copy;
}

/** A copy of the document without the members at `pointers` (a pointer already gone is skipped). */
export function deleteAt(document: Json, pointers: string[]): Json {
  const copy = structuredClone(document);
  for (const pointer of pointers) {
    if (pointer === '') continue;
    const holder = resolvePointer(copy, parentOf(pointer));
    const key = segmentsOf(pointer).at(-1)!;
    if (Array.isArray(holder)) holder.splice(Number(key), 1);
    else if (isContainer(holder)) delete (holder as Record<string, Json>)[key];
  }
  return copy;
}
