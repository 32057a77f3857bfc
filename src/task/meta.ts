/** Metadata a task class declares: what it does, its inputs (types, required, secret) and outputs. */
import { WELL_KNOWN_SECRET_INPUTS } from './secret-inputs.js';

/** The JSON types an input may declare; `any` accepts every value. */
export type InputType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'any';

/** One declared input of a task class. */
export interface TaskInputSpec {
  type?: InputType;
  required?: boolean;
  /** Secret inputs are masked (`***`) in every log line, API answer, error and UI page. */
  secret?: boolean;
  description?: string;
}

/** One declared output (a public state attribute the task creates). */
export interface TaskOutputSpec {
  description?: string;
}

/** What a task module may declare about itself (all optional). */
export interface TaskClassMetaInput {
  name?: string;
  description?: string;
  inputs?: Record<string, TaskInputSpec>;
  outputs?: Record<string, TaskOutputSpec>;
  /** The default ping interval of this class, in seconds. */
  pingIntervalSeconds?: number;
}

/** The metadata of a registered task class, completed with defaults. */
export interface TaskClassMeta {
  name: string;
  description: string;
  inputs: Record<string, TaskInputSpec>;
  outputs: Record<string, TaskOutputSpec>;
  pingIntervalSeconds: number | null;
  /** The file the class was loaded from. */
  source: string;
}

/** True when the named input of this class is secret. */
export function isSecretInput(meta: TaskClassMeta | undefined, input: string): boolean {
  return WELL_KNOWN_SECRET_INPUTS.has(input) || meta?.inputs[input]?.secret === true;
}

/** Looks a task class up by name (the template compiler needs only this much of the registry). */
export type TaskClassLookup = (name: string) => TaskClassMeta | undefined;
