/**
 * tfe.workspace_upload_config_files — fetches the configuration tarball from `file_url`, checks it
 * against `file_hash` (`sha256:<hex>`) and uploads it to the configuration version's upload URL.
 * A file that does not match is never uploaded. The TFE token is not sent to the file server.
 */
import { Task } from '../../src/index.js';
import { assertFileHash, parseFileHash, sha256Hex } from '../../src/integrations/file-hash.js';
import { HttpClient } from '../../src/integrations/http-client.js';
import { attemptKey } from '../../src/integrations/launch-intent.js';
import {
  TFE_CONNECTION_INPUTS,
  createTfeClient,
  type TfeConnectionState,
} from '../../src/integrations/tfe-task-support.js';
import { compileTls } from '../../src/integrations/tls.js';

interface UploadState extends TfeConnectionState {
  config_url: string;
  file_url: string;
  file_hash: string;
  uploaded_sha256?: string;
  uploaded_for?: string;
}

const MAX_TARBALL_BYTES = 256 * 1024 * 1024;

/** The tfe.workspace_upload_config_files task class. */
export default class WorkspaceUploadConfigFiles extends Task<UploadState> {
  static override meta = {
    name: 'tfe.workspace_upload_config_files',
    description: 'Fetches a configuration tarball, checks its sha256 against file_hash, uploads it to TFE.',
    inputs: {
      ...TFE_CONNECTION_INPUTS,
      config_url: {
        type: 'string' as const,
        required: true,
        description: 'The upload URL of the configuration version.',
      },
      file_url: { type: 'string' as const, required: true, description: 'Where to fetch the .tar.gz from.' },
      file_hash: {
        type: 'string' as const,
        required: true,
        description: "Its hash: 'sha256:<64 hex digits>'.",
      },
    },
    outputs: {},
  };

  taskInit(): void {}

  async run(): Promise<void> {
    const key = attemptKey(this.uuid, this.attempt);
    if (this.state.uploaded_for === key) {
      this.flog.log('the configuration files were uploaded before a restart');
      this.taskState = 'successful';
      return;
    }
    const expected = parseFileHash(this.state.file_hash);
    const tarball = await this.fetchTarball();
    assertFileHash(tarball, expected, this.state.file_url);
    this.flog.log(`fetched ${tarball.length} bytes from ${this.state.file_url}; sha256 matches file_hash`);
    await createTfeClient(this.state, this).upload(this.state.config_url, tarball, this.signal);
    this.state.uploaded_sha256 = sha256Hex(tarball);
    this.state.uploaded_for = key;
    this.flog.log('uploaded the configuration files to the configuration version');
    this.taskState = 'successful';
  }

  ping(): void {}

  cancel(): void {
    this.taskState = 'canceled';
  }

  private async fetchTarball(): Promise<Buffer> {
    const url = this.state.file_url;
    const client = new HttpClient({
      service: hostOf(url),
      baseUrl: url,
      tls: compileTls(this.state, url, (message) => this.flog.warn(message)),
      onRetry: (message) => this.flog.warn(message),
    });
    const answer = await client.call({
      path: url,
      headers: { accept: 'application/octet-stream, application/gzip, */*' },
      what: `send the configuration tarball ${url}`,
      target: `file ${url}`,
      signal: this.signal,
      maxBytes: MAX_TARBALL_BYTES,
    });
    return answer.body;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the file server';
  }
}
