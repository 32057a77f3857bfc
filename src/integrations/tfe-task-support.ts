/** What the tfe.* task classes share: their connection inputs, their client, and stopping a run. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TaskLogger } from '../task/task.js';
import { TfeClient } from './tfe-client.js';
import { isRunFinal, stopActionFor } from './tfe-run-status.js';
import { TLS_INPUTS, compileTls, plainHttpWarning } from './tls.js';

/** The connection inputs of every tfe.* class. */
export const TFE_CONNECTION_INPUTS = {
  tfe_server: {
    type: 'string' as const,
    required: true,
    description: 'The TFE address, e.g. https://app.terraform.io',
  },
  tfe_bearer_token: {
    type: 'string' as const,
    required: true,
    secret: true,
    description: 'A TFE team or user API token.',
  },
  ...TLS_INPUTS,
};

/** The connection state attributes of every tfe.* task. */
export interface TfeConnectionState {
  tfe_server: string;
  tfe_bearer_token: string;
  ca_file?: string | null;
  tls_verify?: boolean | null;
}

/** The loggers a task has. */
export interface TaskLogs {
  flog: TaskLogger;
  slog: TaskLogger;
}

/** A client for the task's TFE; TLS and plain-http warnings go to both logs. */
export function createTfeClient(state: TfeConnectionState, logs: TaskLogs): TfeClient {
  const warn = (message: string): void => {
    logs.flog.warn(message);
    logs.slog.warn(message);
  };
  const plain = plainHttpWarning(state.tfe_server, 'tfe_server');
  if (plain) warn(plain);
  return new TfeClient({
    baseUrl: state.tfe_server,
    token: state.tfe_bearer_token,
    tls: compileTls(state, state.tfe_server, warn),
    onRetry: (message) => logs.flog.warn(message),
  });
}

/** How long a cancel waits for TFE to show the run stopped. */
const STOP_FOLLOW_MS = 10_000;

/**
 * Stops a run the way its status allows — `discard` while it waits for confirmation or priority,
 * `cancel` while it plans or applies — follows it until it stopped (or for a while), and says what
 * happened. Never aborted: it runs when the task's signal has already fired.
 */
export async function stopRun(tfe: TfeClient, runId: string, comment: string): Promise<string> {
  let run = await tfe.run(runId);
  const first = stopActionFor(run.attributes.status, run.attributes.actions);
  if (first === null) return `TFE run ${runId} had already ended ${run.attributes.status}: nothing to stop`;
  let answer = await tfe.action(runId, first, comment);
  let action = first;
  if (!answer.accepted) {
    // The run moved on between the read and the action: read again and try what fits now.
    run = await tfe.run(runId);
    const second = stopActionFor(run.attributes.status, run.attributes.actions);
    if (second === null)
      return `TFE run ${runId} had already ended ${run.attributes.status}: nothing to stop`;
    answer = await tfe.action(runId, second, comment);
    action = second;
    if (!answer.accepted) return `TFE refused to ${second} run ${runId} (${answer.reason})`;
  }
  const deadline = Date.now() + STOP_FOLLOW_MS;
  for (;;) {
    run = await tfe.run(runId);
    const status = run.attributes.status;
    if (isRunFinal(status))
      return `TFE run ${runId} ${action === 'discard' ? 'discarded' : 'canceled'}: it is ${status}`;
    if (Date.now() > deadline) return `${action} of TFE run ${runId} requested; it is still ${status}`;
    await sleep(250);
  }
}
