/**
 * JSON text of template documents. A compiled template's document is deeply frozen, and every
 * revision of that template version holds the same object: its text is made once, not once per
 * request — it is the largest part of a new revision.
 */
const texts = new WeakMap<object, string>();

/** JSON text of a value that may be a frozen (never changing) document; `undefined` is null. */
export function documentJson(value: unknown): string {
  if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) {
    return JSON.stringify(value) ?? 'null';
  }
  let text = texts.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    texts.set(value, text);
  }
  return text;
}

/** JSON text of `fields` with `document` added last, under `key`, its text made by documentJson. */
export function jsonWithDocument(fields: object, key: string, document: unknown): string {
  const head = JSON.stringify(fields);
  const tail = `${JSON.stringify(key)}:${documentJson(document)}}`;
  return head === '{}' ? `{${tail}` : `${head.slice(0, -1)},${tail}`;
}
