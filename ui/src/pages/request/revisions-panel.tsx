/** The revisions of a request (§6.5) and, for any two of them, what changed in each task's state and inputs. */
import { useState } from 'preact/hooks';
import { apiGet, seg } from '../../api.js';
import type { RequestDetail, RevisionDetail } from '../../../../src/api/answers.js';
import { ErrorBox } from '../../components/error-box.js';
import { StatusBadge } from '../../components/status-badge.js';
import { Value } from '../../components/values-table.js';
import { formatTime } from '../../format.js';
import { useLoad } from '../../hooks.js';
import { diffRevisions, type TaskDiff } from '../../lib/revision-diff.js';

/** The panel. */
export function RevisionsPanel({ detail }: { detail: RequestDetail }) {
  const count = detail.revisions.length;
  const [pair, setPair] = useState<{ from: number; to: number } | null>(null);
  const from = pair?.from ?? Math.max(1, detail.revision - 1);
  const to = pair?.to ?? detail.revision;
  return (
    <section class="card" aria-labelledby="revisions-title">
      <div class="card-head">
        <h2 id="revisions-title">Revisions</h2>
        <span class="muted small">
          {count} revision{count === 1 ? '' : 's'}
        </span>
      </div>
      <div class="table-wrap">
        <table class="table table-compact" aria-label="Revisions">
          <thead>
            <tr>
              <th scope="col" class="num">
                #
              </th>
              <th scope="col">Reason</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Ended</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {[...detail.revisions].reverse().map((revision) => (
              <tr
                key={revision.revision}
                class={revision.revision === detail.revision ? 'is-current' : undefined}
              >
                <td class="num">{revision.revision}</td>
                <td>{revision.reason}</td>
                <td>
                  <StatusBadge state={revision.status} />
                </td>
                <td>{formatTime(revision.created_at)}</td>
                <td>{formatTime(revision.ended_at)}</td>
                <td class="wrap">{revision.error ?? <span class="muted">—</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {count < 2 ? (
        <p class="muted small">
          Only one revision so far: Retry or Revise adds one, and this panel then compares them.
        </p>
      ) : (
        <>
          <div class="compare-bar">
            <span>Compare revision</span>
            <RevisionSelect
              label="Earlier revision"
              value={from}
              count={count}
              onChange={(n) => setPair({ from: n, to })}
            />
            <span>with</span>
            <RevisionSelect
              label="Later revision"
              value={to}
              count={count}
              onChange={(n) => setPair({ from, to: n })}
            />
          </div>
          <RevisionDiff
            uuid={detail.uuid}
            from={from}
            to={to}
            current={detail.revision}
            updated={detail.updated_at}
          />
        </>
      )}
    </section>
  );
}

function RevisionSelect(props: {
  label: string;
  value: number;
  count: number;
  onChange: (n: number) => void;
}) {
  return (
    <select
      aria-label={props.label}
      value={props.value}
      onChange={(e) => props.onChange(Number(e.currentTarget.value))}
    >
      {Array.from({ length: props.count }, (_, i) => i + 1).map((n) => (
        <option key={n} value={n}>
          {n}
        </option>
      ))}
    </select>
  );
}

function RevisionDiff(props: {
  uuid: string;
  from: number;
  to: number;
  current: number;
  updated: string | null;
}) {
  const { uuid, from, to } = props;
  // The current revision still changes while it runs; older ones are fixed.
  const key = `${uuid}|${from}|${to}|${from === props.current || to === props.current ? props.updated : ''}`;
  const loaded = useLoad(async (signal) => {
    const read = (n: number) => apiGet<RevisionDetail>(`/workflow/${seg(uuid)}/revisions/${n}`, signal);
    const [a, b] = await Promise.all([read(from), read(to)]);
    return diffRevisions(a.tasks, b.tasks);
  }, key);
  if (loaded.error) return <ErrorBox error={loaded.error} title="The revisions could not be compared" />;
  if (!loaded.data) return <p class="muted small loading">Comparing…</p>;
  if (from === to) return <p class="muted small">Pick two different revisions.</p>;
  return <DiffTable diffs={loaded.data} from={from} to={to} />;
}

function DiffTable({ diffs, from, to }: { diffs: TaskDiff[]; from: number; to: number }) {
  const changed = diffs.filter((diff) => diff.stateChanged || diff.inputChanges.length > 0);
  return (
    <div class="table-wrap">
      <table class="table table-compact diff" aria-label={`Differences between revisions ${from} and ${to}`}>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">State in {from}</th>
            <th scope="col">State in {to}</th>
            <th scope="col">Inputs that changed</th>
          </tr>
        </thead>
        <tbody>
          {diffs.map((diff) => (
            <tr
              key={diff.ref}
              class={diff.stateChanged || diff.inputChanges.length > 0 ? 'is-changed' : undefined}
            >
              <th scope="row">{diff.ref}</th>
              <td>
                {diff.before ? <StatusBadge state={diff.before.state} /> : <span class="muted">absent</span>}
              </td>
              <td>
                {diff.after ? <StatusBadge state={diff.after.state} /> : <span class="muted">absent</span>}
              </td>
              <td>
                {diff.inputChanges.length === 0 ? (
                  <span class="muted">same inputs</span>
                ) : (
                  <ul class="changes">
                    {diff.inputChanges.map((change) => (
                      <li key={change.name}>
                        <code>{change.name}</code>:{' '}
                        {change.before === undefined ? <em>unset</em> : <Value value={change.before} />} →{' '}
                        {change.after === undefined ? <em>unset</em> : <Value value={change.after} />}
                      </li>
                    ))}
                  </ul>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {changed.length === 0 && (
        <p class="muted small">No task changed state or inputs between these revisions.</p>
      )}
    </div>
  );
}
