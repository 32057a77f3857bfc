/** Record builders for the store contract suite: valid records with overridable fields. */
import { randomUUID } from 'node:crypto';
import type {
  LogLine,
  RequestRecord,
  RequestStatus,
  RevisionRecord,
  TaskRunRecord,
  TemplateRecord,
} from '../../src/store/store.js';

/** A fixed "now" so tests never depend on the wall clock. */
export const T0 = 1_700_000_000_000;

/** A request of status pending, version 1, created at T0, owned by nobody. */
export function makeRequest(overrides: Partial<RequestRecord> = {}): RequestRecord {
  const uuid = overrides.uuid ?? randomUUID();
  return {
    uuid,
    ref: `ref-${uuid}`,
    traceId: `trace-${uuid}`,
    name: 'a request',
    description: null,
    templateRef: 'noop_template',
    templateVersion: 1,
    payloadHash: `hash-${uuid}`,
    status: 'pending',
    revision: 1,
    scheduledAt: null,
    createdAt: T0,
    updatedAt: T0,
    endedAt: null,
    error: null,
    owner: null,
    leaseExpiresAt: null,
    version: 1,
    ...overrides,
  };
}

/** Revision `overrides.revision ?? 1` of a request, with a nested payload and template. */
export function makeRevision(
  request: RequestRecord,
  overrides: Partial<RevisionRecord> = {},
): RevisionRecord {
  return {
    requestUuid: request.uuid,
    revision: 1,
    reason: 'submit',
    payload: { workflow: { meta: { ref: request.ref }, vars: { delay: 5, list: [1, 'two', null] } } },
    template: {
      ref_name: request.templateRef,
      schema_version: 1,
      tasks: [{ ref_name: 'noop_01', class: 'noop' }],
    },
    status: request.status,
    createdAt: request.createdAt,
    startedAt: null,
    endedAt: null,
    error: null,
    warnings: [{ path: '/workflow/vars/unused', message: 'not used by any task' }],
    version: 1,
    ...overrides,
  };
}

/** A pending task run of revision 1 of a request, with one public and one private attribute. */
export function makeTaskRun(request: RequestRecord, overrides: Partial<TaskRunRecord> = {}): TaskRunRecord {
  return {
    uuid: randomUUID(),
    requestUuid: request.uuid,
    revision: 1,
    taskRef: 'noop_01',
    className: 'noop',
    state: 'pending',
    lastTaskState: 'never',
    attempt: 1,
    inputs: null,
    attributes: {
      runtime_delay: { value: 5, public: false },
      rand_no: { value: { n: 7, tags: ['é', '✓'] }, public: true },
    },
    error: null,
    createdAt: request.createdAt,
    startedAt: null,
    endedAt: null,
    version: 1,
    ...overrides,
  };
}

/** An engine info line of a request (of a task run when `taskUuid` is given). */
export function makeLog(request: RequestRecord, message: string, taskUuid: string | null = null): LogLine {
  return { requestUuid: request.uuid, taskUuid, ts: T0, level: 'info', source: 'engine', message };
}

/** Everything createRequest takes: a request, its first revision, `tasks` task runs and one log line. */
export interface Submission {
  request: RequestRecord;
  revision: RevisionRecord;
  taskRuns: TaskRunRecord[];
  logs: LogLine[];
}

/** A whole submission; task runs are named task_0, task_1, … in creation order. */
export function makeSubmission(overrides: Partial<RequestRecord> = {}, tasks = 2): Submission {
  const request = makeRequest(overrides);
  const revision = makeRevision(request);
  const taskRuns = Array.from({ length: tasks }, (_, i) => makeTaskRun(request, { taskRef: `task_${i}` }));
  return { request, revision, taskRuns, logs: [makeLog(request, 'request stored')] };
}

/** The next version of a record with some fields changed: what a save of it writes. */
export function bump<T extends { version: number }>(record: T, changes: Partial<T> = {}): T {
  return { ...record, ...changes, version: record.version + 1 };
}

/** A request of the given status (pending when omitted), for lease and schedule tests. */
export function requestWithStatus(status: RequestStatus, overrides: Partial<RequestRecord> = {}): Submission {
  return makeSubmission({ status, ...overrides }, 1);
}

/** A template record of `refName` and `version` with a small nested document, registered at T0. */
export function makeTemplateRecord(
  refName: string,
  version: number,
  overrides: Partial<TemplateRecord> = {},
): TemplateRecord {
  return {
    refName,
    version,
    document: {
      name: 'A template é ✓',
      ref_name: refName,
      schema_version: version,
      tasks: [
        { name: 'Only', ref_name: 'only', class: 'noop', input: { runtime_delay: 0, tags: ['a', null] } },
      ],
    },
    createdAt: T0,
    ...overrides,
  };
}
