/**
 * The requests list: filters by status and template, an exact search by ref or trace_id, cursor
 * paging, and the shown page fetched again every few seconds while the tab is visible.
 */
import { useState } from 'preact/hooks';
import { apiGet } from '../api.js';
import type { RequestPage, RequestSummary, TemplateSummary } from '../../../src/api/answers.js';
import { EmptyState } from '../components/empty-state.js';
import { ErrorBox } from '../components/error-box.js';
import { StatusBadge } from '../components/status-badge.js';
import { elapsed, formatDuration, formatTime } from '../format.js';
import { useLoad, useTitle } from '../hooks.js';
import { REQUEST_STATUSES } from '../../../src/store/records.js';
import { setQuery } from '../router.js';

const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

interface Filters {
  status: string;
  template: string;
  q: string;
}

/** The page. */
export function RequestsPage({ query }: { query: URLSearchParams }) {
  useTitle('Requests');
  const filters: Filters = {
    status: query.get('status') ?? '',
    template: query.get('template') ?? '',
    q: query.get('q') ?? '',
  };
  const filterKey = JSON.stringify(filters);
  // Cursors of the pages before the shown one, so Previous can go back; reset with the filters.
  const [trail, setTrail] = useState<{ key: string; cursors: (string | null)[] }>({
    key: filterKey,
    cursors: [null],
  });
  const cursors = trail.key === filterKey ? trail.cursors : [null];
  const cursor = cursors[cursors.length - 1] ?? null;
  const page = useLoad((signal) => fetchPage(filters, cursor, signal), `${filterKey}|${cursor}`, REFRESH_MS);
  const templates = useLoad(
    (signal) => apiGet<{ templates: TemplateSummary[] }>('/templates', signal),
    'templates',
  );
  const filtered = filters.status !== '' || filters.template !== '' || filters.q !== '';

  return (
    <>
      <div class="page-head">
        <div>
          <h1>Requests</h1>
          <p class="muted">Workflow requests, newest first. The list follows the server live.</p>
        </div>
      </div>
      <FilterBar filters={filters} templates={templates.data?.templates ?? []} />
      {page.error !== undefined && (
        <ErrorBox
          error={page.error}
          title={
            page.data ? 'Live updates paused: the last refresh failed' : 'The requests could not be loaded'
          }
        />
      )}
      {page.data && page.data.items.length === 0 && cursor === null ? (
        filtered ? (
          <EmptyState title="No request matches these filters">
            <p>
              The search matches a whole <code>ref</code> or <code>trace_id</code>.{' '}
              <a href="/">Clear the filters</a>
            </p>
          </EmptyState>
        ) : (
          <EmptyState title="No requests yet">
            <p>
              Requests appear here once submitted. <a href="/submit">Submit a request</a> from a template, or
              post one to <code>/api/v1/workflow/submit</code>.
            </p>
          </EmptyState>
        )
      ) : page.data ? (
        <>
          <RequestTable items={page.data.items} />
          <div class="pager">
            <button
              type="button"
              class="button"
              disabled={cursors.length < 2}
              onClick={() => setTrail({ key: filterKey, cursors: cursors.slice(0, -1) })}
            >
              ← Newer
            </button>
            <span class="muted small">
              Page {cursors.length} · {page.data.items.length} request
              {page.data.items.length === 1 ? '' : 's'}
            </span>
            <button
              type="button"
              class="button"
              disabled={!page.data.next_cursor}
              onClick={() =>
                setTrail({ key: filterKey, cursors: [...cursors, page.data?.next_cursor ?? null] })
              }
            >
              Older →
            </button>
          </div>
        </>
      ) : (
        page.error === undefined && <p class="muted loading">Loading requests…</p>
      )}
    </>
  );
}

function FilterBar({ filters, templates }: { filters: Filters; templates: TemplateSummary[] }) {
  const [text, setText] = useState(filters.q);
  return (
    <form
      class="filters"
      role="search"
      aria-label="Filter requests"
      onSubmit={(event) => {
        event.preventDefault();
        setQuery({ q: text.trim() });
      }}
    >
      <div class="field field-grow">
        <label for="filter-q">Ref or trace ID</label>
        <div class="input-group">
          <input
            id="filter-q"
            type="search"
            value={text}
            placeholder="Exact ref or trace_id"
            spellcheck={false}
            onInput={(event) => setText(event.currentTarget.value)}
          />
          <button type="submit" class="button">
            Search
          </button>
        </div>
      </div>
      <div class="field">
        <label for="filter-status">Status</label>
        <select
          id="filter-status"
          value={filters.status}
          onChange={(e) => setQuery({ status: e.currentTarget.value })}
        >
          <option value="">Any status</option>
          {REQUEST_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="filter-template">Template</label>
        <select
          id="filter-template"
          value={filters.template}
          onChange={(e) => setQuery({ template: e.currentTarget.value })}
        >
          <option value="">Any template</option>
          {[...new Set(templates.map((t) => t.ref_name))].map((ref) => (
            <option key={ref} value={ref}>
              {ref}
            </option>
          ))}
        </select>
      </div>
      {(filters.status || filters.template || filters.q) && (
        <div class="field field-end">
          <button
            type="button"
            class="button button-quiet"
            onClick={() => {
              setText('');
              setQuery({ status: undefined, template: undefined, q: undefined });
            }}
          >
            Clear filters
          </button>
        </div>
      )}
    </form>
  );
}

function RequestTable({ items }: { items: RequestSummary[] }) {
  return (
    <div class="table-wrap">
      <table class="table table-cards" aria-label="Requests">
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Request</th>
            <th scope="col">Template</th>
            <th scope="col">Trace ID</th>
            <th scope="col" class="num">
              Rev.
            </th>
            <th scope="col">Created</th>
            <th scope="col">Ended</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.uuid} data-uuid={item.uuid}>
              <td data-label="Status">
                <StatusBadge state={item.status} />
              </td>
              <td data-label="Request">
                <a class="strong mono-ish" href={`/requests/${item.uuid}`}>
                  {item.ref}
                </a>
                {item.name && <div class="muted small">{item.name}</div>}
              </td>
              <td data-label="Template">
                <a href={`/templates/${encodeURIComponent(item.template.ref_name)}`}>
                  {item.template.ref_name}
                </a>
                <span class="muted small"> v{item.template.schema_version}</span>
              </td>
              <td data-label="Trace ID">
                <code class="truncate" title={item.trace_id}>
                  {item.trace_id}
                </code>
              </td>
              <td data-label="Revision" class="num">
                {item.revision}
              </td>
              <td data-label="Created">
                <time dateTime={item.created_at ?? undefined}>{formatTime(item.created_at)}</time>
                {item.status === 'scheduled' && item.scheduled_at && (
                  <div class="muted small">starts {formatTime(item.scheduled_at)}</div>
                )}
              </td>
              <td data-label="Ended">
                <time dateTime={item.ended_at ?? undefined}>{formatTime(item.ended_at)}</time>
                {item.ended_at && item.created_at && (
                  <div class="muted small">
                    after {formatDuration(elapsed(item.created_at, item.ended_at) ?? 0)}
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

async function fetchPage(filters: Filters, cursor: string | null, signal: AbortSignal): Promise<RequestPage> {
  const base = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (filters.status) base.set('status', filters.status);
  if (filters.template) base.set('template', filters.template);
  const list = (extra: Record<string, string>) =>
    apiGet<RequestPage>(
      `/workflow?${new URLSearchParams({ ...Object.fromEntries(base), ...extra })}`,
      signal,
    );
  if (!filters.q) return list(cursor ? { cursor } : {});
  // One box finds both: the request with that ref (refs are unique) and those sharing that trace_id.
  const [byRef, byTrace] = await Promise.all([
    cursor ? Promise.resolve({ items: [], next_cursor: null }) : list({ ref: filters.q, limit: '1' }),
    list({ trace_id: filters.q, ...(cursor ? { cursor } : {}) }),
  ]);
  const seen = new Set<string>();
  const items = [...byRef.items, ...byTrace.items].filter(
    (item) => !seen.has(item.uuid) && seen.add(item.uuid),
  );
  return { items, next_cursor: byTrace.next_cursor };
}
