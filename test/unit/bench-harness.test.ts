import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { dropBenchStore, freshStoreUrl } from '../../bench/harness.js';
import { SHARED } from '../helpers/shared-stores.js';

describe('the bench harness', () => {
  it('removes a SQLite store it made, with its folder', async () => {
    const url = freshStoreUrl('sqlite');
    const file = url.slice('sqlite:'.length);
    writeFileSync(file, 'x');
    await dropBenchStore(url);
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  it('leaves a SQLite store of its own, and the folder around it, as they are', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'o3-harness-test-'));
    const file = path.join(folder, 'mine.db');
    writeFileSync(file, 'x');
    // Removing the folder of any SQLite file given was how a run on /tmp/x.db emptied /tmp.
    await dropBenchStore(`sqlite:${file}`);
    expect(existsSync(file)).toBe(true);
    rmSync(folder, { recursive: true, force: true });
  });

  it('drops a Redis prefix it made, and leaves any other prefix alone', async () => {
    const redis = new Redis(SHARED.redis);
    const mine = `o3harnesstest${process.pid}:`;
    const bench = freshStoreUrl('redis');
    const benchPrefix = new URL(bench).searchParams.get('prefix')!;
    await redis.set(`${mine}key`, '1');
    await redis.set(`${benchPrefix}key`, '1');
    await dropBenchStore(`${SHARED.redis}?prefix=${mine}`);
    await dropBenchStore(bench);
    expect(await redis.exists(`${mine}key`)).toBe(1);
    expect(await redis.exists(`${benchPrefix}key`)).toBe(0);
    await redis.del(`${mine}key`);
    redis.disconnect();
  });
});
