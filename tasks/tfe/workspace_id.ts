/** tfe.workspace_id — the article's first TFE step: looks a workspace up by name and outputs its id. */
import { Task } from '../../src/index.js';
import {
  TFE_CONNECTION_INPUTS,
  createTfeClient,
  type TfeConnectionState,
} from '../../src/integrations/tfe-task-support.js';

interface WorkspaceIdState extends TfeConnectionState {
  organization_name: string;
  workspace_name: string;
  workspace_id?: string;
}

/** The tfe.workspace_id task class. */
export default class WorkspaceId extends Task<WorkspaceIdState> {
  static override meta = {
    name: 'tfe.workspace_id',
    description: 'Looks a TFE workspace up by organization and name, and outputs its id.',
    inputs: {
      ...TFE_CONNECTION_INPUTS,
      organization_name: { type: 'string' as const, required: true, description: 'The TFE organization.' },
      workspace_name: { type: 'string' as const, required: true, description: 'The workspace name.' },
    },
    outputs: { workspace_id: { description: 'The workspace id (ws-…).' } },
  };

  taskInit(): void {}

  async run(): Promise<void> {
    const { organization_name: organization, workspace_name: name } = this.state;
    const workspace = await createTfeClient(this.state, this).workspaceByName(
      organization,
      name,
      this.signal,
    );
    this.createOrUpdateStateAttr('workspace_id', workspace.id, { public: true });
    this.flog.log(`workspace '${name}' of organization '${organization}' is ${workspace.id}`);
    this.taskState = 'successful';
  }

  ping(): void {}

  cancel(): void {
    this.taskState = 'canceled';
  }
}
