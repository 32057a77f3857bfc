import { describe, expect, it } from 'vitest';
import { logLineJson, toLogLine } from '../../src/store/redis/record-codec.js';
import type { LogLine } from '../../src/store/records.js';

describe('Redis record codec', () => {
  it('writes a log line exactly as JSON.stringify would, and reads it back, whatever its message holds', () => {
    const messages = [
      'task t0 ended successful',
      'quotes " and \\ backslashes',
      'new\nlines\r\tand \u0000 controls \u001f',
      'ünïcode ✓ 日本 \u2028 \u2029 emoji 🚀',
      'a lone surrogate \ud800 here',
      '',
    ];
    for (const message of messages) {
      for (const taskUuid of [null, '01a21c01-f82b-71b4-a202-d22146b2b392']) {
        const line: LogLine = {
          requestUuid: 'r',
          taskUuid,
          ts: 1_795_766_220_846,
          level: 'warn',
          source: 'task',
          message,
        };
        const { ts, level, source } = line;
        expect(logLineJson(line)).toBe(JSON.stringify([taskUuid, ts, level, source, message]));
        expect(toLogLine('r', 7, logLineJson(line))).toEqual({ ...line, seq: 7 });
      }
    }
  });
});
