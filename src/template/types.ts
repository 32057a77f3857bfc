/** Template documents as written (§2) and compiled. */
import type { CompiledValue } from './expressions.js';

/** A task as written in a template. */
export interface TemplateTaskDocument {
  name: string;
  ref_name: string;
  description?: string;
  class: string;
  input?: Record<string, unknown>;
  always_run?: boolean;
  depends_on?: string[];
  optional?: boolean;
  timeout_seconds?: number;
  ping_interval_seconds?: number;
  retry?: { max_attempts?: number; delay_seconds?: number; backoff?: number };
}

/** A template as written (JSON or YAML). */
export interface TemplateDocument {
  name: string;
  ref_name: string;
  description?: string;
  schema_version: number;
  workflow?: { input?: { global?: Record<string, unknown> } };
  tasks: TemplateTaskDocument[];
}

/** A retry policy with its defaults applied. */
export interface RetryPolicy {
  maxAttempts: number;
  delayMs: number;
  backoff: number;
}

/** A task of a compiled template. */
export interface CompiledTask {
  refName: string;
  name: string;
  description: string;
  className: string;
  alwaysRun: boolean;
  optional: boolean;
  /** Explicit dependencies (`depends_on`). */
  dependsOn: string[];
  /** Every dependency, implicit (`${X.output.Y}`) and explicit, without repeats, in template order. */
  dependencies: string[];
  /** The tasks that depend on this one, in template order. */
  dependents: string[];
  /** The task's own `input`, parsed. */
  input: Record<string, CompiledValue>;
  timeoutMs: number | null;
  /** The template's ping interval for this task, else null (the class's own, else 2 s, applies). */
  pingIntervalMs: number | null;
  retry: RetryPolicy;
}

/** A validated template, ready to plan and run requests. */
export interface CompiledTemplate {
  refName: string;
  version: number;
  name: string;
  description: string;
  /** The document as loaded (deep-frozen). */
  document: TemplateDocument;
  /** The file it came from, or null when registered over the API. */
  source: string | null;
  /** `workflow.input.global`, parsed (defaults keyed by attribute name, §3.2). */
  globals: Record<string, CompiledValue>;
  tasks: CompiledTask[];
  taskByRef: ReadonlyMap<string, CompiledTask>;
  /** The DAG in levels: every task of a level depends only on tasks of earlier levels. */
  levels: string[][];
}
