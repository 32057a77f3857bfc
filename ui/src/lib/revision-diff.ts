/** What changed between two revisions of a request: each task's state and resolved inputs (§6.5). */
import type { TaskRunView } from '../../../src/api/answers.js';

/** One input that differs (absent on one side is `undefined`). */
export interface InputChange {
  name: string;
  before: unknown;
  after: unknown;
}

/** One task compared across two revisions. */
export interface TaskDiff {
  ref: string;
  before: TaskRunView | undefined;
  after: TaskRunView | undefined;
  stateChanged: boolean;
  inputChanges: InputChange[];
}

/** Compares the task runs of two revisions, task by task, in the order of the later one. */
export function diffRevisions(before: readonly TaskRunView[], after: readonly TaskRunView[]): TaskDiff[] {
  const beforeByRef = new Map(before.map((run) => [run.ref_name, run]));
  const afterByRef = new Map(after.map((run) => [run.ref_name, run]));
  const refs = [...new Set([...after.map((run) => run.ref_name), ...before.map((run) => run.ref_name)])];
  return refs.map((ref) => {
    const a = beforeByRef.get(ref);
    const b = afterByRef.get(ref);
    return {
      ref,
      before: a,
      after: b,
      stateChanged: a?.state !== b?.state,
      inputChanges: inputChanges(a?.inputs ?? {}, b?.inputs ?? {}),
    };
  });
}

function inputChanges(before: Record<string, unknown>, after: Record<string, unknown>): InputChange[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return names
    .filter((name) => stableJson(before[name]) !== stableJson(after[name]))
    .map((name) => ({ name, before: before[name], after: after[name] }));
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` compare equal. */
export function stableJson(value: unknown): string {
  if (value === undefined) return 'undefined';
  return JSON.stringify(value, (_key, item: unknown) =>
    item !== null && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : item,
  );
}
