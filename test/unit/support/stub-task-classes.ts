/** Stub task classes and example-file readers shared by the template and request unit tests. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TaskClassLookup, TaskClassMeta, TaskInputSpec } from '../../../src/task/meta.js';

/** The repository root, so tests read the real example files. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Parses a JSON file of the repository (e.g. `templates/noop_template_run.json`). */
export function readRepoJson(relative: string): unknown {
  return JSON.parse(readFileSync(new URL(relative, `file://${REPO_ROOT}`), 'utf8')) as unknown;
}

/** A class's metadata with only its name and inputs set. */
export function stubMeta(name: string, inputs: Record<string, TaskInputSpec> = {}): TaskClassMeta {
  return { name, description: '', inputs, outputs: {}, pingIntervalSeconds: null, source: `stub:${name}` };
}

const tfeCommon: Record<string, TaskInputSpec> = {
  tfe_server: { type: 'string', required: true },
  tfe_bearer_token: { type: 'string', required: true, secret: true },
};

/** The built-in classes of §12 as far as the template and request checks see them. */
export const STUB_CLASSES: Record<string, TaskClassMeta> = {
  noop: stubMeta('noop', { runtime_delay: { type: 'number' } }),
  awx_job_launch: stubMeta('awx_job_launch', {
    awx_url: { type: 'string', required: true },
    job_template_id: { type: 'integer', required: true },
    extra_vars: { type: 'object' },
    awx_token: { type: 'string', required: true, secret: true },
  }),
  'tfe.workspace_id': stubMeta('tfe.workspace_id', {
    ...tfeCommon,
    organization_name: { type: 'string' },
    workspace_name: { type: 'string' },
  }),
  'tfe.workspace_config_version': stubMeta('tfe.workspace_config_version', {
    ...tfeCommon,
    workspace_id: {},
  }),
  'tfe.workspace_upload_config_files': stubMeta('tfe.workspace_upload_config_files', {
    ...tfeCommon,
    config_url: {},
    file_url: { type: 'string' },
    file_hash: { type: 'string' },
  }),
  'tfe.workspace_run': stubMeta('tfe.workspace_run', {
    ...tfeCommon,
    workspace_id: {},
    config_version_id: {},
  }),
  'tfe.workspace_run_apply': stubMeta('tfe.workspace_run_apply', { ...tfeCommon, run_id: {} }),
  // A class with a free-form header input, to see secrets masked inside longer text.
  http_call: stubMeta('http_call', { token: { type: 'string', secret: true }, header: { type: 'string' } }),
};

/** Looks a stub class up by name. */
export const lookupStub: TaskClassLookup = (name) =>
  Object.hasOwn(STUB_CLASSES, name) ? STUB_CLASSES[name] : undefined;
