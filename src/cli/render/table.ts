/** Plain-text tables: an upper-case header, columns padded to their widest cell, two spaces apart. */

/** A cell: text, a number, or nothing (shown as `-`). */
export type Cell = string | number | boolean | null | undefined;

/** Renders rows under a header; the last column is not padded so long text does not add trailing spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [header.map((title) => title.toUpperCase()), ...rows.map((row) => row.map(cellText))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `key  value` lines with the keys aligned, for a record's header. */
export function renderFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${cellText(value)}`).join('\n');
}

function cellText(value: Cell): string {
  if (value === null || value === undefined || value === '') return '-';
  // A newline inside a cell would break the table's rows apart.
  return String(value).replace(/\s*\n\s*/g, ' ');
}
