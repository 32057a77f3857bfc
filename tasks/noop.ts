/**
 * The article's test task: succeeds after `runtime_delay` seconds with a random number.
 * Its start time is a state attribute, so a resumed noop finishes on time instead of starting over.
 */
import { Task } from '../src/index.js';

interface NoopState {
  runtime_delay?: number;
  started_at_ms?: number;
  rand_no?: number;
}

export default class Noop extends Task<NoopState> {
  static override meta = {
    name: 'noop',
    description: 'Does nothing for runtime_delay seconds, then succeeds with a random number (rand_no).',
    inputs: {
      runtime_delay: { type: 'number' as const, description: 'How long to wait, in seconds (default 0).' },
    },
    outputs: { rand_no: { description: 'A random integer from 0 to 999.' } },
    pingIntervalSeconds: 1,
  };

  taskInit(): void {}

  run(): void {
    const input = this.state.rand_no === undefined ? '' : ` (rand_no input is ${this.state.rand_no})`;
    this.flog.log(`runtime_delay is ${this.delayMs() / 1000} s${input}`);
    this.createStateAttr('started_at_ms', this.now());
    this.taskState = 'running';
  }

  ping(): void {
    if (this.taskState !== 'running') return;
    const elapsedMs = this.now() - (this.state.started_at_ms ?? this.now());
    const remainingMs = this.delayMs() - elapsedMs;
    if (remainingMs > 0) {
      this.pingAgainIn(Math.min(remainingMs, 1000));
      return;
    }
    const randNo = Math.floor(Math.random() * 1000);
    this.createOrUpdateStateAttr('rand_no', randNo, { public: true });
    this.flog.log(`generated random number ${randNo}`);
    this.taskState = 'successful';
  }

  cancel(): void {
    this.taskState = 'canceled';
  }

  private delayMs(): number {
    const seconds = Number(this.state.runtime_delay ?? 0);
    return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 0;
  }
}
