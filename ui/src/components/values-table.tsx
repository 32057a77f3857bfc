/** State attributes (inputs, outputs) as a two-column table; values the server masked say so. */
import { formatValue } from '../format.js';
import { containsMask } from '../lib/revise-prefill.js';

/** The table, or `empty` when there is nothing to show. */
export function ValuesTable({
  values,
  empty,
  label,
}: {
  values: Record<string, unknown> | null;
  empty: string;
  label: string;
}) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <p class="muted small">{empty}</p>;
  return (
    <table class="kv" aria-label={label}>
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>
              <Value value={value} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One value: short text inline, structures as indented JSON, masked secrets marked. */
export function Value({ value }: { value: unknown }) {
  const text = formatValue(value);
  const masked = containsMask(value);
  return (
    <span class={`value${masked ? ' is-masked' : ''}`}>
      {text.includes('\n') ? <pre>{text}</pre> : <code>{text === '' ? '""' : text}</code>}
      {masked && <span class="tag tag-secret">secret</span>}
    </span>
  );
}
