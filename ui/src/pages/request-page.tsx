/**
 * One request (`/requests/{uuid}`): its DAG coloured by task state and its timeline, both following
 * the SSE stream; the selected task's inputs, outputs, error and live log; the request log; the
 * revisions and what changed between them; Cancel, Retry and Revise.
 */
import { EmptyState } from '../components/empty-state.js';
import { DagGraph } from '../components/dag-graph.js';
import { ErrorBox } from '../components/error-box.js';
import { Gantt } from '../components/gantt.js';
import { LogView } from '../components/log-view.js';
import { StatusBadge } from '../components/status-badge.js';
import { elapsed, formatDuration, formatTime } from '../format.js';
import { useTitle } from '../hooks.js';
import { ApiError } from '../api.js';
import { setQuery } from '../router.js';
import { RequestActions } from './request/request-actions.js';
import { RevisionsPanel } from './request/revisions-panel.js';
import { TaskPanel } from './request/task-panel.js';
import { useFollowedRequest } from './request/use-followed-request.js';
import type { RequestDetail } from '../../../src/api/answers.js';

/** The page. */
export function RequestPage({ uuid, query }: { uuid: string; query: URLSearchParams }) {
  const followed = useFollowedRequest(uuid);
  const { detail, tasks, status, error } = followed;
  useTitle(detail ? `Request ${detail.name ?? detail.ref}` : 'Request');
  const selectedRef = query.get('task');
  const selected = tasks.find((task) => task.ref_name === selectedRef);
  const select = (ref: string) => setQuery({ task: ref === selectedRef ? undefined : ref });

  if (!detail) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <EmptyState title="No such request">
          <p>
            The server has no request <code>{uuid}</code>. <a href="/">Back to the requests</a>
          </p>
        </EmptyState>
      );
    }
    return error ? (
      <ErrorBox error={error} title="The request could not be loaded" />
    ) : (
      <p class="muted loading">Loading…</p>
    );
  }

  const nodes = tasks.map((task) => ({
    id: task.ref_name,
    title: task.ref_name,
    subtitle: task.class,
    state: task.state,
  }));
  const edges = tasks.flatMap((task) => task.depends_on.map((from) => ({ from, to: task.ref_name })));
  const shownStatus = status ?? detail.status;

  return (
    <>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href="/">Requests</a> <span aria-hidden="true">/</span> <span>{detail.ref}</span>
      </nav>
      <div class="page-head">
        <div class="page-title">
          <h1>
            {detail.name ?? detail.ref} <StatusBadge state={shownStatus} />
          </h1>
          {detail.description && <p class="muted">{detail.description}</p>}
        </div>
        <RequestActions detail={detail} status={shownStatus} tasks={tasks} onChanged={followed.refresh} />
      </div>
      {error !== undefined && (
        <ErrorBox error={error} title="The last refresh failed; the page may be out of date" />
      )}
      <RequestFacts detail={detail} />
      {detail.error && (
        <div class="callout callout-error" role="status">
          <p class="callout-title">Why it {shownStatus === 'canceled' ? 'stopped' : 'failed'}</p>
          <p class="callout-text">{detail.error}</p>
        </div>
      )}
      {detail.warnings.length > 0 && (
        <div class="callout callout-warning">
          <p class="callout-title">Warnings from validation</p>
          <ul class="problem-list">
            {detail.warnings.map((warning, index) => (
              <li key={index}>
                <code class="problem-path">{warning.path}</code> {warning.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <div class="request-layout">
        <div class="request-main">
          <section class="card" aria-labelledby="graph-title">
            <div class="card-head">
              <h2 id="graph-title">Tasks</h2>
              <span class="muted small">Revision {detail.revision} · select a task for its details</span>
            </div>
            <DagGraph
              nodes={nodes}
              edges={edges}
              label={`Task graph of request ${detail.ref}`}
              selected={selectedRef}
              onSelect={select}
            />
            <StateLegend />
          </section>
          <section class="card" aria-labelledby="timeline-title">
            <div class="card-head">
              <h2 id="timeline-title">Timeline</h2>
            </div>
            <Gantt
              rows={tasks.map((task) => ({
                id: task.ref_name,
                state: task.state,
                start: task.started_at,
                end: task.ended_at,
              }))}
              selected={selectedRef}
              onSelect={select}
            />
          </section>
        </div>
        <aside class="request-side" aria-label="Selected task">
          {selected ? (
            <TaskPanel
              key={selected.ref_name}
              requestUuid={uuid}
              task={selected}
              onClose={() => setQuery({ task: undefined })}
            />
          ) : (
            <section class="card card-quiet">
              <h2>Task details</h2>
              <p class="muted">
                Select a task in the graph or the timeline (or Tab to it and press Enter) to see its resolved
                inputs, outputs, error and log.
              </p>
            </section>
          )}
        </aside>
      </div>
      <section class="card" aria-labelledby="log-title">
        <div class="card-head">
          <h2 id="log-title">Request log</h2>
        </div>
        <LogView
          lines={followed.logs}
          connection={followed.connection}
          empty="No log lines yet."
          label="Request log"
          showTask
        />
      </section>
      <RevisionsPanel detail={detail} />
    </>
  );
}

function RequestFacts({ detail }: { detail: RequestDetail }) {
  const duration = elapsed(detail.created_at, detail.ended_at);
  return (
    <dl class="facts">
      <div>
        <dt>Ref</dt>
        <dd>
          <code>{detail.ref}</code>
        </dd>
      </div>
      <div>
        <dt>Template</dt>
        <dd>
          <a
            href={`/templates/${encodeURIComponent(detail.template.ref_name)}?version=${detail.template.schema_version}`}
          >
            {detail.template.ref_name}
          </a>{' '}
          <span class="muted">v{detail.template.schema_version}</span>
        </dd>
      </div>
      <div>
        <dt>Trace ID</dt>
        <dd>
          <a href={`/?q=${encodeURIComponent(detail.trace_id)}`} title="Requests with this trace_id">
            <code>{detail.trace_id}</code>
          </a>
        </dd>
      </div>
      <div>
        <dt>Revision</dt>
        <dd>{detail.revision}</dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>{formatTime(detail.created_at)}</dd>
      </div>
      {detail.scheduled_at && (
        <div>
          <dt>Scheduled for</dt>
          <dd>{formatTime(detail.scheduled_at)}</dd>
        </div>
      )}
      <div>
        <dt>Ended</dt>
        <dd>
          {formatTime(detail.ended_at)}
          {detail.ended_at && duration !== null && <span class="muted"> · {formatDuration(duration)}</span>}
        </dd>
      </div>
      <div>
        <dt>UUID</dt>
        <dd>
          <code class="small">{detail.uuid}</code>
        </dd>
      </div>
    </dl>
  );
}

const LEGEND = ['pending', 'running', 'waiting', 'successful', 'failed', 'canceled', 'skipped'];

function StateLegend() {
  return (
    <ul class="legend" aria-label="Colours of the task states">
      {LEGEND.map((state) => (
        <li key={state} data-state={state}>
          <span class="legend-swatch" aria-hidden="true" />
          {state}
        </li>
      ))}
    </ul>
  );
}
