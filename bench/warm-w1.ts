/**
 * The engine's own work in W1 once it is warm: `warmup` one-task requests (50 submitters), then
 * `size` more, measured. Prints `{ tasksPerSecond, cpuUsPerTask, mainThreadUsPerTask,
 * otherThreadsUsPerTask }`: the other threads are V8's compiler and collector, which a cold run of
 * 10,000 tasks keeps busy for a third of the process's time or more. On Redis, `redisUsPerTask` is
 * the server's CPU per task over the same requests (INFO cpu), as both share the machine's cores. With `--callgrind`, the process counts its
 * own instructions over the measured requests only, in every thread (V8 names its own functions,
 * so the count also says where they go):
 *
 *   valgrind --tool=callgrind --instr-atstart=no --smc-check=all-non-file \
 *     node --import tsx bench/warm-w1.ts redis 3000 --warmup 6000 --callgrind
 *   grep totals callgrind.out.<its pid>   # what it counted: the measured requests
 *
 * Usage: `node --import tsx bench/warm-w1.ts <sqlite|postgres|redis> [size] [--warmup N] [--callgrind]`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { benchEngine, freshStoreUrl, inParallel, noopTemplate, whenEnded } from './harness.js';

const SUBMITTERS = 50;

/** CPU time of each thread of this process so far, in clock ticks (Linux). */
function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const thread of readdirSync('/proc/self/task')) {
    // Fields after the command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/self/task/${thread}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks.set(thread, Number(fields[11]) + Number(fields[12]));
  }
  return ticks;
}

/** Submits `count` requests with 50 submitters and waits for all of them to end. */
async function run(h: Awaited<ReturnType<typeof benchEngine>>, count: number): Promise<void> {
  const ended = whenEnded(h.engine, count);
  await inParallel(Array.from({ length: count }), SUBMITTERS, () => h.submit('single'));
  await ended;
  h.engine.events.removeAllListeners('ended');
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at < 0 ? undefined : (args.splice(at, name === '--callgrind' ? 1 : 2)[1] ?? '');
};
const warmup = Number(option('--warmup') ?? 2000);
const callgrind = option('--callgrind') !== undefined;
const [kind = 'redis', sizeText = '10000'] = args;
const size = Number(sizeText);

const storeUrl = freshStoreUrl(kind);
// On Redis, the server's own CPU time too (INFO cpu), since both processes share the machine's cores.
const server = kind === 'redis' ? new Redis(storeUrl.replace(/\?.*/, '')) : undefined;
const serverCpuSeconds = async () => {
  if (!server) return 0;
  const info = await server.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_user') + field('used_cpu_sys');
};
const h = await benchEngine(storeUrl, [noopTemplate('single', 1, () => [])], SUBMITTERS);
await run(h, warmup);
const toggle = (on: boolean) => {
  if (callgrind) execFileSync('callgrind_control', ['-i', on ? 'on' : 'off', String(process.pid)]);
};
const serverCpu = await serverCpuSeconds();
const ticks = threadTicks();
const cpu = process.cpuUsage();
toggle(true);
const start = performance.now();
await run(h, size);
const seconds = (performance.now() - start) / 1000;
toggle(false);
const { user, system } = process.cpuUsage(cpu);
const after = threadTicks();
const serverUsPerTask = Math.round((((await serverCpuSeconds()) - serverCpu) * 1e6) / size);
// Clock ticks are 10 ms (USER_HZ 100 on Linux).
const perTask = (ticksUsed: number) => Math.round((ticksUsed * 10_000) / size);
const main = String(process.pid);
let others = 0;
for (const [thread, used] of after) if (thread !== main) others += used - (ticks.get(thread) ?? 0);
console.log(
  JSON.stringify({
    tasksPerSecond: Math.round(size / seconds),
    cpuUsPerTask: Math.round((user + system) / size),
    mainThreadUsPerTask: perTask(after.get(main)! - ticks.get(main)!),
    otherThreadsUsPerTask: perTask(others),
    ...(server && { redisUsPerTask: serverUsPerTask }),
  }),
);
server?.disconnect();
await h.close();
