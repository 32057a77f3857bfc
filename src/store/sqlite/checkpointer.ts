/**
 * Checkpoints in the background: a second connection, in a worker thread, copies committed WAL
 * frames into the database file while the engine goes on writing. Left to the writer alone, SQLite
 * checkpoints inside the commit that crosses `wal_autocheckpoint`: tens of thousands of frames
 * copied and two fsyncs, 50–100 ms during which the engine's event loop (API, pings, hand-offs)
 * stands still. The writer's own autocheckpoint stays as the backstop, and then finds little left
 * to copy. A checkpoint moves no data a crash could lose: every frame it copies is already
 * committed to the WAL.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** At most one checkpoint starts per this many ms: copying a hot page once per interval, not once per commit. */
export const CHECKPOINT_INTERVAL_MS = 100;
/**
 * Nor before this many records were written since the last: a checkpoint syncs the WAL and the file,
 * and a commit's writes to the WAL meanwhile may wait for pages under writeback. A trickle of small
 * commits (a chain's hand-offs) leaves the copying to the writer's autocheckpoint, far off.
 */
export const RECORDS_PER_CHECKPOINT = 2000;

// Plain CommonJS, so the worker needs no TypeScript loader: it opens the file and checkpoints
// (PASSIVE: never waits for, nor blocks, the writer) each time it is asked, answering when done.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  let copied = 0;
  try {
    copied = db.pragma('wal_checkpoint(PASSIVE)')[0].checkpointed;
  } catch {
    // The writer's autocheckpoint still runs; a store that cannot be used says so to its writer.
  }
  parentPort.postMessage(copied);
});
`;

const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3');

/** The background checkpoints of one database file; its worker starts with the first checkpoint. */
export class BackgroundCheckpointer {
  #worker: Worker | undefined;
  #exited: Promise<void> = Promise.resolve();
  #running: Promise<number> | undefined;
  #lastStartMs = -Infinity;
  #recordsSince = 0;
  #failed = false;

  constructor(private readonly path: string) {}

  /**
   * Called after each write transaction with the records (and log lines) it wrote: starts a
   * checkpoint once enough were written, unless one runs or one started lately.
   */
  afterWrite(records: number, now = performance.now()): void {
    this.#recordsSince += records;
    if (this.#recordsSince < RECORDS_PER_CHECKPOINT || this.#running !== undefined || this.#failed) return;
    if (now - this.#lastStartMs < CHECKPOINT_INTERVAL_MS) return;
    this.#lastStartMs = now;
    this.#recordsSince = 0;
    void this.checkpoint();
  }

  /** Runs a checkpoint now (or joins the running one); resolves with the frames it copied. */
  checkpoint(): Promise<number> {
    if (this.#running !== undefined) return this.#running;
    const worker = this.#start();
    if (worker === undefined) return Promise.resolve(0);
    this.#running = new Promise<number>((resolve) => {
      const done = (copied: number) => {
        worker.off('exit', gone);
        this.#running = undefined;
        resolve(copied);
      };
      const gone = () => done(0);
      worker.once('message', done);
      worker.once('exit', gone);
      worker.postMessage('checkpoint');
    });
    return this.#running;
  }

  /** Stops the worker, after the checkpoint it is running. */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#failed = true;
    if (worker === undefined) return;
    worker.ref(); // what close() awaits must hold the process open
    await this.#running;
    worker.postMessage('close');
    await this.#exited;
  }

  #start(): Worker | undefined {
    if (this.#worker !== undefined || this.#failed) return this.#worker;
    // No inherited flags: neither the TypeScript loader nor a parent's --input-type=module.
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { path: this.path, driver: DRIVER },
    });
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    // A worker that cannot open the file, or dies, leaves the checkpoints to the writer, as before.
    const stop = () => {
      this.#failed = true;
      this.#worker = undefined;
    };
    worker.on('error', stop);
    worker.on('exit', stop);
    worker.unref(); // never what keeps the process alive
    this.#worker = worker;
    return worker;
  }
}
