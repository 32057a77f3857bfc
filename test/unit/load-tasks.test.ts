import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadTasks, taskNameFromPath } from '../../src/task/load-tasks.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer } from '../helpers/test-server.js';

/** Temp folders live outside the repository, so modules import the task base class by absolute URL. */
const TASK_URL = pathToFileURL(path.join(ROOT, 'src/index.ts')).href;
const BUILTIN_TASKS = path.join(ROOT, 'tasks');

const METHODS = {
  taskInit: 'taskInit() {}',
  run: "run() { this.taskState = 'running'; }",
  ping: "ping() { return 'successful'; }",
  cancel: "cancel() { this.taskState = 'canceled'; }",
};

/** The source of a module whose default export extends Task with the given methods and static members. */
function taskSource(
  options: {
    className?: string;
    omit?: (keyof typeof METHODS)[];
    statics?: string;
    exportDefault?: boolean;
  } = {},
): string {
  const methods = Object.entries(METHODS)
    .filter(([name]) => !(options.omit ?? []).includes(name as keyof typeof METHODS))
    .map(([, source]) => `  ${source}`)
    .join('\n');
  const className = options.className ?? 'Probe';
  const head = options.exportDefault === false ? 'export class' : 'export default class';
  return [
    `import { Task } from '${TASK_URL}';`,
    `${head} ${className} extends Task {`,
    options.statics ?? '',
    methods,
    '}',
    '',
  ].join('\n');
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'o3-tasks-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(relative: string, text: string): Promise<string> {
  const file = path.join(dir, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  return file;
}

describe('loadTasks', () => {
  it('registers a valid .ts, .mjs and .js module under its name from the path', async () => {
    await write('probe_ts.ts', taskSource());
    await write('probe_mjs.mjs', taskSource());
    // A .js file in a folder without package.json is CommonJS to Node; ESM syntax must still load.
    await write('probe_js.js', taskSource());
    const { registry, problems } = await loadTasks([dir]);
    expect(problems).toEqual([]);
    expect(registry.list().map((entry) => entry.meta.name)).toEqual(['probe_js', 'probe_mjs', 'probe_ts']);
    const entry = registry.get('probe_ts');
    expect(entry.meta.source).toBe(path.join(dir, 'probe_ts.ts'));
    expect(entry.TaskClass.name).toBe('Probe');
    expect(typeof new entry.TaskClass().ping).toBe('function');
  });

  it('names a module in a subfolder by its path: tfe/workspace_id.ts becomes tfe.workspace_id', async () => {
    await write('tfe/workspace_id.ts', taskSource());
    const { registry, problems } = await loadTasks([dir]);
    expect(problems).toEqual([]);
    expect(registry.list().map((entry) => entry.meta.name)).toEqual(['tfe.workspace_id']);
  });

  it('prefers the name in static meta over the path, and completes the metadata', async () => {
    await write(
      'some_file.ts',
      taskSource({
        statics: `  static meta = {
    name: 'declared_name',
    description: 'Checks things',
    inputs: { token: { type: 'string', secret: true }, count: { type: 'integer', required: true } },
    outputs: { result: { description: 'what it found' } },
    pingIntervalSeconds: 0.5,
  };`,
      }),
    );
    const { registry, problems } = await loadTasks([dir]);
    expect(problems).toEqual([]);
    expect(registry.find('some_file')).toBeUndefined();
    expect(registry.get('declared_name').meta).toEqual({
      name: 'declared_name',
      description: 'Checks things',
      inputs: { token: { type: 'string', secret: true }, count: { type: 'integer', required: true } },
      outputs: { result: { description: 'what it found' } },
      pingIntervalSeconds: 0.5,
      source: path.join(dir, 'some_file.ts'),
    });
  });

  it('fills metadata a class does not declare with empty defaults', async () => {
    await write('bare.ts', taskSource());
    const { registry } = await loadTasks([dir]);
    expect(registry.get('bare').meta).toMatchObject({
      description: '',
      inputs: {},
      outputs: {},
      pingIntervalSeconds: null,
    });
  });

  it('refuses a class missing ping, naming the file and the method', async () => {
    const file = await write('no_ping.ts', taskSource({ className: 'NoPing', omit: ['ping'] }));
    const { registry, problems } = await loadTasks([dir]);
    expect(registry.find('no_ping')).toBeUndefined();
    expect(problems).toHaveLength(1);
    expect(problems[0]!.file).toBe(file);
    expect(problems[0]!.message).toContain(file);
    expect(problems[0]!.message).toMatch(/missing the method ping$/);
  });

  it('refuses a class missing two methods, naming both', async () => {
    const file = await write('half.ts', taskSource({ omit: ['run', 'cancel'] }));
    const { registry, problems } = await loadTasks([dir]);
    expect(registry.find('half')).toBeUndefined();
    expect(problems).toEqual([{ file, message: expect.stringContaining('missing the methods run, cancel') }]);
    expect(problems[0]!.message).toContain(file);
  });

  it('refuses a module without a default export, one whose default is not a Task, and one with a syntax error, and still loads the others', async () => {
    await write('a_good.ts', taskSource());
    const noDefault = await write('b_no_default.ts', taskSource({ exportDefault: false }));
    const notTask = await write(
      'c_not_task.ts',
      `export default class Plain { taskInit() {} run() {} ping() {} cancel() {} }\n`,
    );
    const notClass = await write('d_not_class.ts', `export default { taskInit() {}, run() {} };\n`);
    const syntax = await write('e_syntax.ts', `export default class Broken extends {\n`);
    await write('f_good.mjs', taskSource());
    const { registry, problems } = await loadTasks([dir]);

    expect(registry.list().map((entry) => entry.meta.name)).toEqual(['a_good', 'f_good']);
    const byFile = new Map(problems.map((problem) => [problem.file, problem.message]));
    expect([...byFile.keys()].sort()).toEqual([noDefault, notTask, notClass, syntax].sort());
    for (const [file, message] of byFile) expect(message, file).toContain(file);
    expect(byFile.get(noDefault)).toMatch(/no default export of a task class/);
    expect(byFile.get(notTask)).toMatch(/class Plain does not extend Task/);
    expect(byFile.get(notClass)).toMatch(/no default export of a task class/);
    expect(byFile.get(syntax)).toMatch(/cannot be loaded: .+/);
  });

  it('skips files starting with _ and test, spec and declaration files', async () => {
    await write('_helper.ts', `throw new Error('a helper must not be imported as a task');\n`);
    await write('probe.test.ts', `throw new Error('a test must not be imported as a task');\n`);
    await write('probe.spec.mjs', `throw new Error('a spec must not be imported as a task');\n`);
    await write('types.d.ts', `export type X = number;\n`);
    await write('README.md', '# not a module\n');
    await write('probe.ts', taskSource());
    const { registry, problems } = await loadTasks([dir]);
    expect(problems).toEqual([]);
    expect(registry.list().map((entry) => entry.meta.name)).toEqual(['probe']);
  });

  it('lets a later folder override a built-in task name', async () => {
    const file = await write('noop.ts', taskSource({ className: 'MyNoop' }));
    const { registry, problems } = await loadTasks([BUILTIN_TASKS, dir]);
    expect(problems).toEqual([]);
    expect(registry.get('noop').meta.source).toBe(file);
    expect(registry.get('noop').TaskClass.name).toBe('MyNoop');
  });

  it('names a subclass of a built-in by its own path, keeping the inherited metadata and the built-in', async () => {
    const noopUrl = pathToFileURL(path.join(BUILTIN_TASKS, 'noop.ts')).href;
    await write(
      'slow_noop.ts',
      `import Noop from '${noopUrl}';\nexport default class SlowNoop extends Noop {}\n`,
    );
    const { registry, problems } = await loadTasks([BUILTIN_TASKS, dir]);
    expect(problems).toEqual([]);
    expect(registry.get('noop').meta.source).toBe(path.join(BUILTIN_TASKS, 'noop.ts'));
    expect(registry.get('slow_noop').meta.inputs).toEqual(registry.get('noop').meta.inputs);
  });

  it('keeps the built-in when the overriding folder comes first', async () => {
    await write('noop.ts', taskSource({ className: 'MyNoop' }));
    const { registry } = await loadTasks([dir, BUILTIN_TASKS]);
    expect(registry.get('noop').meta.source).toBe(path.join(BUILTIN_TASKS, 'noop.ts'));
  });

  it('skips folders that do not exist and reads a folder named twice once', async () => {
    await write('probe.ts', taskSource());
    const { registry, problems } = await loadTasks([path.join(dir, 'missing'), dir, `${dir}/`]);
    expect(problems).toEqual([]);
    expect(registry.list().map((entry) => entry.meta.name)).toEqual(['probe']);
  });

  it('refuses a module whose name is not a valid task name', async () => {
    const file = await write('bad name.ts', taskSource());
    const { registry, problems } = await loadTasks([dir]);
    expect(registry.list()).toEqual([]);
    expect(problems).toEqual([
      { file, message: expect.stringContaining("task name 'bad name' is not valid") },
    ]);
  });
});

describe('taskNameFromPath', () => {
  it('joins folders with dots and drops the extension', () => {
    expect(taskNameFromPath(path.join('/t', 'tfe', 'workspace_id.ts'), '/t')).toBe('tfe.workspace_id');
    expect(taskNameFromPath(path.join('/t', 'noop.mjs'), '/t')).toBe('noop');
  });
});

describe('GET /api/v1/tasks', () => {
  it("lists each class's description, inputs (with secret), outputs and ping interval", async () => {
    await write(
      'vault_read.ts',
      taskSource({
        statics: `  static meta = {
    description: 'Reads a secret',
    inputs: { vault_token: { type: 'string', secret: true, required: true } },
    outputs: { value: { description: 'the secret value' } },
    pingIntervalSeconds: 3,
  };`,
      }),
    );
    const server = await startTestServer({ taskDirs: [dir] });
    try {
      const response = await server.app.inject({ method: 'GET', url: '/api/v1/tasks' });
      expect(response.statusCode).toBe(200);
      const { tasks } = response.json();
      const byName = new Map(tasks.map((task: { name: string }) => [task.name, task]));
      expect(byName.get('noop')).toEqual({
        name: 'noop',
        description: 'Does nothing for runtime_delay seconds, then succeeds with a random number (rand_no).',
        inputs: {
          runtime_delay: { type: 'number', description: 'How long to wait, in seconds (default 0).' },
        },
        outputs: { rand_no: { description: 'A random integer from 0 to 999.' } },
        ping_interval_seconds: 1,
      });
      expect(byName.get('vault_read')).toEqual({
        name: 'vault_read',
        description: 'Reads a secret',
        inputs: { vault_token: { type: 'string', secret: true, required: true } },
        outputs: { value: { description: 'the secret value' } },
        ping_interval_seconds: 3,
      });
      expect(response.body).not.toContain(dir);
      expect(tasks.map((task: { name: string }) => task.name)).toEqual(
        [...tasks.map((task: { name: string }) => task.name)].sort(),
      );
    } finally {
      await server.close();
    }
  });
});
