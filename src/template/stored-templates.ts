/**
 * Templates registered over the API live in the store, so that they survive restarts and every node
 * sharing the store has them, and, compiled, in each node's TemplateRegistry. This module keeps the
 * two in step: the registry takes the stored templates at start, and again when a request names a
 * template this node does not know (another node may have registered it since), at most once a
 * second, so that a flood of unknown names cannot hammer the store.
 *
 * A template file keeps its own ref_name and schema_version: a stored template of the same pair is
 * left out (with a warning when its document differs), and the API refuses to register that pair.
 */
import type { Logger } from 'pino';
import { O3Error, clip, conflict, errorMessage } from '../errors.js';
import { canonicalJson } from '../request/validate-request.js';
import type { Store, TemplateRecord } from '../store/store.js';
import type { TaskClassLookup } from '../task/meta.js';
import { compileTemplate } from './compile-template.js';
import type { TemplateRegistry } from './template-registry.js';
import type { CompiledTemplate } from './types.js';

/** What keeping the registry in step with the store needs; the API's dependencies have all of it. */
export interface TemplateSyncDeps {
  store: Pick<Store, 'listTemplates'>;
  templates: TemplateRegistry;
  tasks: { lookupMeta: TaskClassLookup };
  logger: Logger;
  /** Epoch milliseconds (the injected clock); Date.now when absent. */
  now?: () => number;
}

/** The least time between two looks into the store prompted by requests. */
export const TEMPLATE_REFRESH_INTERVAL_MS = 1000;

/** Where one registry stands with the store. */
interface SyncState {
  /** When the last refresh prompted by a request began; undefined before the first. */
  refreshedAt: number | undefined;
  /** The refresh under way, which concurrent lookups share. */
  running: Promise<void> | undefined;
  /** Stored templates looked at and left out (a file has the pair, or it no longer compiles): reported once. */
  leftOut: Set<string>;
}

// Kept beside the registry rather than in it: the registry is a plain catalogue, and files and tests
// fill registries that never see a store.
const states = new WeakMap<TemplateRegistry, SyncState>();

/** Adds the stored templates the registry lacks; returns how many it added. Never throws for a bad one. */
export async function loadStoredTemplates(deps: TemplateSyncDeps): Promise<number> {
  const state = stateOf(deps.templates);
  let added = 0;
  for (const record of await deps.store.listTemplates()) if (addStored(deps, state, record)) added += 1;
  return added;
}

/**
 * loadStoredTemplates, unless one prompted by a request began less than a second ago (then this
 * does nothing) or is under way (then this waits for it). Store errors are thrown.
 */
export async function refreshStoredTemplates(deps: TemplateSyncDeps): Promise<void> {
  const state = stateOf(deps.templates);
  if (state.running !== undefined) return state.running;
  const now = (deps.now ?? Date.now)();
  // abs: a clock set back must not hold refreshes off until it has caught up again.
  if (state.refreshedAt !== undefined && Math.abs(now - state.refreshedAt) < TEMPLATE_REFRESH_INTERVAL_MS)
    return;
  state.refreshedAt = now;
  const running = loadStoredTemplates(deps).then(() => undefined);
  state.running = running;
  try {
    await running;
  } finally {
    state.running = undefined;
  }
}

/**
 * The template of a ref_name, of `version` or else the highest, looking in the store (rate-limited)
 * when the registry may not have the answer: the pair is unknown, or no version is given (another
 * node may have registered a higher one). When this node knows a template of the pair, a store
 * error is logged and the registry answers; else it is thrown.
 */
export async function findTemplate(
  deps: TemplateSyncDeps,
  ref: string,
  version?: number,
): Promise<CompiledTemplate | undefined> {
  const known = deps.templates.has(ref, version);
  if (known && version !== undefined) return deps.templates.get(ref, version);
  try {
    await refreshStoredTemplates(deps);
  } catch (error) {
    if (!known) throw error;
    deps.logger.warn({ err: error }, `templates not refreshed from the store: ${errorMessage(error)}`);
  }
  return deps.templates.get(ref, version);
}

/** findTemplate for the template a request body names (`workflow.meta`), if it names one. */
export async function findRequestTemplate(
  deps: TemplateSyncDeps,
  body: unknown,
): Promise<CompiledTemplate | undefined> {
  const meta = field(field(body, 'workflow'), 'meta');
  const ref = field(meta, 'template');
  if (typeof ref !== 'string' || ref === '') return undefined; // validateRequest reports it
  const version = field(meta, 'template_schema_version');
  return findTemplate(deps, ref, Number.isInteger(version) ? (version as number) : undefined);
}

/** Every registered template, after a refresh (rate-limited) whose store errors are only logged. */
export async function currentTemplates(deps: TemplateSyncDeps): Promise<CompiledTemplate[]> {
  try {
    await refreshStoredTemplates(deps);
  } catch (error) {
    deps.logger.warn({ err: error }, `templates not refreshed from the store: ${errorMessage(error)}`);
  }
  return deps.templates.list();
}

/**
 * Stores a template registered over the API (the `onTemplateRegistered` of buildApp). The same
 * document stored before is fine; another document under its ref_name and schema_version is a
 * conflict, whichever node stored it.
 */
export async function saveRegisteredTemplate(
  store: Pick<Store, 'saveTemplate'>,
  template: CompiledTemplate,
  now: number = Date.now(),
): Promise<void> {
  const record = { refName: template.refName, version: template.version, document: template.document };
  const result = await store.saveTemplate({ ...record, createdAt: now });
  if (!result.saved && canonicalJson(result.existing.document) !== canonicalJson(template.document)) {
    throw templateConflict(template.refName, template.version);
  }
}

/** The 409 of a ref_name and schema_version registered with another document. */
export function templateConflict(ref: string, version: number): O3Error {
  return conflict(
    `template '${clip(ref)}' schema_version ${version} is already registered with another document; ` +
      'register the change as a new schema_version',
  );
}

/** Adds one stored template unless the registry has its pair or it no longer compiles. */
function addStored(deps: TemplateSyncDeps, state: SyncState, record: TemplateRecord): boolean {
  const key = JSON.stringify([record.refName, record.version]);
  if (state.leftOut.has(key)) return false;
  const where = { template: record.refName, schema_version: record.version };
  const present = deps.templates.get(record.refName, record.version);
  if (present !== undefined) {
    // One registered over the API is the stored one already; a file's own pair wins over the store.
    if (present.source === null) return false;
    state.leftOut.add(key);
    if (canonicalJson(present.document) !== canonicalJson(record.document)) {
      deps.logger.warn(
        { ...where, file: present.source },
        'a template registered over the API is ignored: the template file of the same ref_name and schema_version wins',
      );
    }
    return false;
  }
  try {
    deps.templates.add(
      compileTemplate(record.document, { lookupClass: deps.tasks.lookupMeta, source: null }),
    );
    return true;
  } catch (error) {
    // Typically its task class was removed since it was registered: the node starts without it.
    state.leftOut.add(key);
    const details = error instanceof O3Error ? error.details : undefined;
    deps.logger.error({ ...where, details }, `stored template refused: ${errorMessage(error)}`);
    return false;
  }
}

/** The sync state of a registry, created on first use. */
function stateOf(templates: TemplateRegistry): SyncState {
  let state = states.get(templates);
  if (state === undefined) {
    state = { refreshedAt: undefined, running: undefined, leftOut: new Set() };
    states.set(templates, state);
  }
  return state;
}

/** A member of a JSON object, or undefined for anything else. */
function field(value: unknown, name: string): unknown {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}
