/** `--wait`: live progress until the request ends, then the task summary; exit 0 only if it succeeded. */
import type { RequestDetail } from '../api/answers.js';
import type { ApiClient } from './api-client.js';
import { ExitCode } from './cli-error.js';
import { followRequest } from './follow-request.js';
import { notice, print, printJson, ProgressLine } from './output.js';
import { progressLine, renderTaskSummary } from './render/request.js';

/** Waits for the request to end; prints progress (unless `json`) and the outcome. */
export async function waitForEnd(client: ApiClient, uuid: string, json = false): Promise<ExitCode> {
  const progress = json ? undefined : new ProgressLine();
  try {
    await followRequest(client, uuid, {
      onState: (state) => progress?.update(progressLine(state)),
      onNotice: (message) => (progress ? progress.notice(message) : notice(message)),
    });
  } finally {
    progress?.done();
  }
  // The detail, not the last event, is the record: durations and errors as stored.
  const detail = await client.json<RequestDetail>('GET', `/workflow/${encodeURIComponent(uuid)}`);
  if (json) printJson(detail);
  else print(renderOutcome(detail));
  return detail.status === 'successful' ? ExitCode.ok : ExitCode.failed;
}

function renderOutcome(detail: RequestDetail): string {
  const ending = `request ${detail.uuid} ended ${detail.status}${detail.error ? `: ${detail.error}` : ''}`;
  return detail.tasks.length === 0 ? ending : `\n${renderTaskSummary(detail.tasks)}\n\n${ending}`;
}
