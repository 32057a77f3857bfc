/**
 * Log files (§9, O3_LOG_DIR): as in the article, each request's log and each task run's log are also
 * written to files named by their UUIDs, for operators who ship files rather than query the API.
 * The store stays the source of truth; a file that cannot be written is reported once, not fatal.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { LogLine } from '../store/records.js';

/** Appends log lines to `<dir>/<request uuid>.log` and `<dir>/<task run uuid>.log`. */
export class LogFiles {
  private readonly streams = new Map<string, WriteStream>();
  private readonly byRequest = new Map<string, Set<string>>();
  private failed = false;

  constructor(
    private readonly dir: string,
    private readonly logger: Logger,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Writes one line (already masked) to its request's file and, when it has one, its task run's file. */
  write(line: LogLine, taskRef: string | null): void {
    const text = `${new Date(line.ts).toISOString()} ${line.level.toUpperCase()} ${taskRef ?? line.source} ${line.message}\n`;
    this.stream(line.requestUuid, line.requestUuid).write(text);
    if (line.taskUuid !== null) this.stream(line.requestUuid, line.taskUuid).write(text);
  }

  /** Closes the files of a request that has ended. */
  close(requestUuid: string): void {
    for (const name of this.byRequest.get(requestUuid) ?? []) {
      this.streams.get(name)?.end();
      this.streams.delete(name);
    }
    this.byRequest.delete(requestUuid);
  }

  private stream(requestUuid: string, name: string): WriteStream {
    let stream = this.streams.get(name);
    if (!stream) {
      stream = createWriteStream(path.join(this.dir, `${name}.log`), { flags: 'a' });
      stream.on('error', (error) => {
        if (!this.failed) this.logger.error({ err: error, dir: this.dir }, 'cannot write log files');
        this.failed = true;
      });
      this.streams.set(name, stream);
      const names = this.byRequest.get(requestUuid) ?? new Set<string>();
      names.add(name);
      this.byRequest.set(requestUuid, names);
    }
    return stream;
  }
}
