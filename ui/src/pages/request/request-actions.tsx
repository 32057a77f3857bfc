/** Cancel, Retry and Revise, each behind a confirmation that shows the API's answer when it refuses. */
import { useState } from 'preact/hooks';
import { apiGet, apiPost, seg } from '../../api.js';
import type { RequestDetail, TaskRunView, TemplateDetail } from '../../../../src/api/answers.js';
import { ConfirmDialog } from '../../components/confirm-dialog.js';
import { containsMask, revisePrefill } from '../../lib/revise-prefill.js';
import { isRequestEnded } from '../../../../src/store/records.js';

type Action = 'cancel' | 'retry' | 'revise';

/** The buttons and their dialogs; `onChanged` runs after the server accepted an action. */
export function RequestActions(props: {
  detail: RequestDetail;
  status: string;
  tasks: TaskRunView[];
  onChanged: () => void;
}) {
  const { detail, status } = props;
  const [open, setOpen] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  const [revise, setRevise] = useState<{ text: string; omitted: string[] } | null>(null);
  const ended = isRequestEnded(status);
  const path = `/workflow/${seg(detail.uuid)}`;

  const show = (action: Action) => {
    setError(null);
    setNotice('');
    setOpen(action);
    if (action === 'revise') void prepareRevise();
  };
  const prepareRevise = async () => {
    setRevise(null);
    try {
      const template = await apiGet<TemplateDetail>(
        `/templates/${seg(detail.template.ref_name)}?version=${detail.template.schema_version}`,
      );
      const prefill = revisePrefill(template.document, props.tasks);
      setRevise({ text: JSON.stringify(prefill.body, null, 2), omitted: prefill.omitted });
    } catch (failure) {
      setRevise({
        text: JSON.stringify({ vars: {}, schedule: { when: 'now', start: '' } }, null, 2),
        omitted: [],
      });
      setError(failure);
    }
  };
  const act = async (run: () => Promise<string>) => {
    setBusy(true);
    setError(null);
    try {
      const message = await run();
      setOpen(null);
      setNotice(message);
      props.onChanged();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const close = () => setOpen(null);

  return (
    <div class="actions">
      <div class="button-row">
        <button
          type="button"
          class="button button-danger-quiet"
          disabled={ended || status === 'canceling'}
          onClick={() => show('cancel')}
        >
          Cancel
        </button>
        <button
          type="button"
          class="button"
          disabled={!ended}
          onClick={() => show('retry')}
          title={ended ? undefined : 'A request can be retried once it has ended'}
        >
          Retry
        </button>
        <button type="button" class="button" onClick={() => show('revise')}>
          Revise…
        </button>
      </div>
      {notice && (
        <p class="action-notice" role="status">
          {notice}
        </p>
      )}
      <ConfirmDialog
        open={open === 'cancel'}
        title={`Cancel request ${detail.ref}?`}
        confirmLabel="Cancel request"
        cancelLabel="Keep it running"
        tone="danger"
        busy={busy}
        error={error}
        errorTitle="The request could not be canceled"
        onClose={close}
        onConfirm={() =>
          void act(async () => {
            await apiPost(`${path}/cancel`);
            return 'Cancel requested: running tasks are being stopped.';
          })
        }
      >
        <p>
          Running tasks are asked to stop their external work, and tasks not started yet are marked canceled.
          A canceled request can be retried later.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={open === 'retry'}
        title={`Retry request ${detail.ref}?`}
        confirmLabel={`Start revision ${detail.revision + 1}`}
        tone="primary"
        busy={busy}
        error={error}
        errorTitle="The request could not be retried"
        onClose={close}
        onConfirm={() =>
          void act(async () => {
            const answer = await apiPost<{ revision: number }>(`${path}/retry`);
            return `Revision ${answer.body.revision} started.`;
          })
        }
      >
        <p>
          The request runs again with the same variables as revision {detail.revision + 1}. Tasks that
          succeeded with the same inputs are skipped and keep their outputs; the others run again.
        </p>
      </ConfirmDialog>
      <ConfirmDialog
        open={open === 'revise'}
        title={`Revise request ${detail.ref}`}
        confirmLabel={`Start revision ${detail.revision + 1}`}
        tone="primary"
        busy={busy || revise === null}
        error={error}
        errorTitle="The revision was refused"
        wide
        onClose={close}
        onConfirm={() =>
          void act(async () => {
            const body = parseRevision(revise?.text ?? '');
            const answer = await apiPost<{ revision: number }>(`${path}/revise`, body);
            return `Revision ${answer.body.revision} started.`;
          })
        }
      >
        <p>
          A new revision with new <code>vars</code>, <code>tasks</code> (per-task variables) and{' '}
          <code>schedule</code>. Each given field replaces the request's; leave one out to keep it. Prefilled
          from the current tasks' inputs.
        </p>
        {revise && revise.omitted.length > 0 && (
          <p class="callout callout-warning small">
            Not shown: {revise.omitted.join(', ')} (secret, or not known until a task using it runs). Type the
            value in, or remove <code>vars</code> and <code>tasks</code> to keep the current variables.
          </p>
        )}
        <label class="visually-hidden" for="revise-body">
          Revision body (JSON)
        </label>
        <textarea
          id="revise-body"
          class="code-input"
          rows={14}
          spellcheck={false}
          value={revise?.text ?? 'Loading…'}
          disabled={revise === null}
          onInput={(event) => setRevise({ text: event.currentTarget.value, omitted: revise?.omitted ?? [] })}
        />
      </ConfirmDialog>
    </div>
  );
}

/** The textarea's JSON, refused before sending when it is not an object or still holds a masked value. */
function parseRevision(text: string): unknown {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `The revision is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new Error('The revision must be a JSON object with vars, tasks and/or schedule.');
  }
  if (containsMask(body)) {
    throw new Error(
      'The revision still holds *** (a masked secret): type the real value, or leave that variable out.',
    );
  }
  return body;
}
