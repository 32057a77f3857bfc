import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';

const run = promisify(execFile);

describe('npm run bench -- --smoke', () => {
  it('runs every workload at tiny sizes and prints one JSON document with figures and ratios', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bench/bench.ts'), '--smoke'],
      {
        cwd: ROOT,
        timeout: 240_000,
        maxBuffer: 1 << 24,
      },
    );
    const document = JSON.parse(stdout);
    expect(document.smoke).toBe(true);
    for (const workload of ['raw', 'w1', 'w1bulk', 'w2', 'w3', 'wide', 'inflight', 'busy', 'rest', 'list']) {
      const figure = document.figures[workload];
      expect(figure.median, workload).toBeGreaterThan(0);
      expect(figure.min).toBeLessThanOrEqual(figure.max);
      expect(figure.peakRssMb).toBeGreaterThan(0);
    }
    expect(document.figures.rest.runs[0].non2xx).toBe(0);
    expect(document.peer).toBeUndefined();
    // Every figure but the raw rate itself, as a ratio to it: rates per commit, times in commits.
    const ratios = document.ratiosToRawCommitRate;
    expect(Object.keys(ratios)).toHaveLength(9);
    for (const ratio of Object.values(ratios)) expect(ratio).toBeGreaterThan(0);
    const raw = document.figures.raw.median;
    expect(ratios.w1bulkTasksPerCommit).toBeCloseTo(document.figures.w1bulk.median / raw, 2);
    expect(ratios.busyP99InCommits).toBeCloseTo((document.figures.busy.median / 1000) * raw, 1);
  }, 300_000);

  it('measures the warm engine with bench/warm-w1.ts, every thread of the process counted', async () => {
    const script = path.join(ROOT, 'bench/warm-w1.ts');
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', script, 'sqlite', '200', '--warmup', '50'],
      {
        cwd: ROOT,
        timeout: 60_000,
      },
    );
    const figures = JSON.parse(stdout);
    expect(Object.keys(figures).sort()).toEqual([
      'cpuUsPerTask',
      'mainThreadUsPerTask',
      'otherThreadsUsPerTask',
      'tasksPerSecond',
    ]);
    expect(figures.tasksPerSecond).toBeGreaterThan(0);
    expect(figures.cpuUsPerTask).toBeGreaterThan(0);
    expect(figures.otherThreadsUsPerTask).toBeGreaterThanOrEqual(0);
  }, 90_000);
});
