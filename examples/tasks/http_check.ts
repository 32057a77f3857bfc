/**
 * A complete custom task: waits until an HTTP endpoint answers with the expected status.
 * Drop this file into ./tasks (or a folder named by O3_TASK_DIRS) and restart O3: it registers as
 * `http_check` (its name comes from the file name) and templates can use `"class": "http_check"`.
 */
import { Task } from 'o3';

interface HttpCheckState {
  url: string;
  expected_status?: number;
  max_checks?: number;
  checks?: number;
  last_status?: number | null;
}

export default class HttpCheck extends Task<HttpCheckState> {
  static override meta = {
    description: 'Waits until a URL answers with the expected HTTP status (default 200).',
    inputs: {
      url: { type: 'string' as const, required: true, description: 'The URL to check.' },
      expected_status: { type: 'integer' as const, description: 'The status that means ready (200).' },
      max_checks: { type: 'integer' as const, description: 'How many checks before giving up (30).' },
    },
    outputs: { last_status: { description: 'The last status the URL answered with.' } },
    pingIntervalSeconds: 1,
  };

  taskInit(): void {
    // Survives restarts: a resumed task goes on counting instead of starting over.
    this.createStateAttr('checks', 0);
    this.createStateAttr('last_status', null, { public: true });
  }

  run(): void {
    this.flog.log(`checking ${this.state.url} until it answers ${this.expected()}`);
    this.taskState = 'running';
  }

  async ping(): Promise<void> {
    this.state.checks = (this.state.checks ?? 0) + 1;
    try {
      const response = await fetch(this.state.url, { signal: this.signal });
      this.state.last_status = response.status;
      await response.body?.cancel();
    } catch (error) {
      this.flog.log(`check ${this.state.checks} failed: ${(error as Error).message}`);
    }
    if (this.state.last_status === this.expected()) {
      this.taskState = 'successful';
    } else if (this.state.checks >= (this.state.max_checks ?? 30)) {
      this.flog.error(`gave up after ${this.state.checks} checks (last status ${this.state.last_status})`);
      this.taskState = 'failed';
    }
  }

  cancel(): void {
    this.taskState = 'canceled';
  }

  private expected(): number {
    return this.state.expected_status ?? 200;
  }
}
