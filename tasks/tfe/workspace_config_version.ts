/**
 * tfe.workspace_config_version — creates a configuration version in a workspace and outputs its id
 * and upload URL. `auto-queue-runs` is off, so TFE starts no run of its own when the files arrive:
 * the only run is the one tfe.workspace_run creates (and can find again after a crash).
 */
import { Task } from '../../src/index.js';
import { attemptKey } from '../../src/integrations/launch-intent.js';
import {
  TFE_CONNECTION_INPUTS,
  createTfeClient,
  type TfeConnectionState,
} from '../../src/integrations/tfe-task-support.js';

interface ConfigVersionState extends TfeConnectionState {
  workspace_id: string;
  config_version_id?: string;
  config_version_url?: string;
  /** The attempt that created it: a resumed attempt reuses it, a rerun (always_run) makes a new one. */
  created_for?: string;
}

/** The tfe.workspace_config_version task class. */
export default class WorkspaceConfigVersion extends Task<ConfigVersionState> {
  static override meta = {
    name: 'tfe.workspace_config_version',
    description: 'Creates a configuration version (auto-queue-runs off) and outputs its id and upload URL.',
    inputs: {
      ...TFE_CONNECTION_INPUTS,
      workspace_id: { type: 'string' as const, required: true, description: 'The workspace id (ws-…).' },
    },
    outputs: {
      config_version_id: { description: 'The configuration version id (cv-…).' },
      config_version_url: { description: 'Its upload URL.' },
    },
  };

  taskInit(): void {}

  async run(): Promise<void> {
    const key = attemptKey(this.uuid, this.attempt);
    if (this.state.config_version_id && this.state.created_for === key) {
      this.flog.log(`configuration version ${this.state.config_version_id} was created before a restart`);
      this.taskState = 'successful';
      return;
    }
    const version = await createTfeClient(this.state, this).createConfigVersion(this.state.workspace_id);
    const uploadUrl = version.attributes['upload-url'];
    if (!uploadUrl) {
      this.flog.error(`TFE created configuration version ${version.id} without an upload URL`);
      this.taskState = 'failed';
      return;
    }
    this.createOrUpdateStateAttr('config_version_id', version.id, { public: true });
    this.createOrUpdateStateAttr('config_version_url', uploadUrl, { public: true });
    this.state.created_for = key;
    this.flog.log(`created configuration version ${version.id} in workspace ${this.state.workspace_id}`);
    this.taskState = 'successful';
  }

  ping(): void {}

  cancel(): void {
    this.taskState = 'canceled';
  }
}
