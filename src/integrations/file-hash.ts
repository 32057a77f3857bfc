/** Checking a downloaded file against the hash a request gives for it (`sha256:<hex>`). */
import { createHash } from 'node:crypto';
import { TaskFailure } from '../task/task-failure.js';

/** A parsed `algorithm:hex` hash. */
export interface FileHash {
  algorithm: 'sha256';
  hex: string;
}

/** Parses `sha256:<64 hex digits>`; anything else fails the task with a sentence saying what is expected. */
export function parseFileHash(value: unknown): FileHash {
  const text = typeof value === 'string' ? value.trim() : '';
  const match = /^sha256:([0-9a-fA-F]{64})$/.exec(text);
  if (!match?.[1]) {
    throw TaskFailure.nonRetryable(
      `file_hash must be 'sha256:' followed by 64 hexadecimal digits, not '${String(value)}'`,
    );
  }
  return { algorithm: 'sha256', hex: match[1].toLowerCase() };
}

/** The sha256 of a buffer, as lowercase hex. */
export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Fails the task unless `data` has the expected hash; the sentence names the file and both hashes. */
export function assertFileHash(data: Buffer, expected: FileHash, source: string): void {
  const actual = sha256Hex(data);
  if (actual !== expected.hex) {
    throw TaskFailure.nonRetryable(
      `the file at ${source} does not match file_hash: its sha256 is ${actual}, ` +
        `file_hash says ${expected.hex}; it was not uploaded`,
    );
  }
}
