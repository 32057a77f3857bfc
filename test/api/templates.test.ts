import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { O3Error } from '../../src/errors.js';
import { loadCatalogues } from '../../src/main.js';
import { loadTasks } from '../../src/task/load-tasks.js';
import { loadTemplates } from '../../src/template/load-templates.js';
import { ROOT } from '../helpers/examples.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const BAD_TEMPLATES = path.join(ROOT, 'test/fixtures/bad-templates');
const ARTICLE_TEMPLATES = ['awx_job_template_run', 'noop_template_run', 'tfe_virtual_machine_template'];

/**
 * The article templates whose task classes are all registered: all three once the AWX and TFE
 * classes ship, and at least noop_template_run before that (a template with an unknown class is refused).
 */
function servableArticleTemplates(server: TestServer): string[] {
  const servable = ARTICLE_TEMPLATES.filter((ref) => {
    const document = JSON.parse(readFileSync(path.join(ROOT, 'templates', `${ref}.json`), 'utf8'));
    return document.tasks.every((task: { class: string }) => server.tasks.find(task.class) !== undefined);
  });
  expect(servable).toContain('noop_template_run');
  return servable;
}

describe('a server started with a template folder holding invalid templates', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ templateDirs: [BAD_TEMPLATES] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('serves the valid good_one and the three article templates, and none of the invalid ones', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/templates' });
    expect(response.statusCode).toBe(200);
    const refs = response.json().templates.map((t: { ref_name: string }) => t.ref_name);
    expect(refs).toEqual([...servableArticleTemplates(server), 'good_one'].sort());
    for (const refused of ['cycle', 'unknown_class', 'unknown_task']) {
      const one = await server.app.inject({ method: 'GET', url: `/api/v1/templates/${refused}` });
      expect(one.statusCode, refused).toBe(404);
    }
  });

  it('accepts a request for the valid template from that folder', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/v1/workflow/validate',
      payload: { workflow: { meta: { ref: 'good-1', template: 'good_one' } } },
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(response.json().plan.levels).toEqual([['a']]);
  });
});

describe('loadTemplates on test/fixtures/bad-templates', () => {
  async function problems() {
    const { registry } = await loadTasks([path.join(ROOT, 'tasks')]);
    return loadTemplates([BAD_TEMPLATES], registry.lookupMeta);
  }

  it('compiles only good_one', async () => {
    const { templates } = await problems();
    expect(templates.map((t) => t.refName)).toEqual(['good_one']);
  });

  it('reports the cycle a -> b -> a, the class no_such_class and the task ghost, each with its file', async () => {
    const loaded = await problems();
    const byFile = new Map(loaded.problems.map((problem) => [path.basename(problem.file ?? ''), problem]));
    expect([...byFile.keys()].sort()).toEqual(['cycle.json', 'unknown-class.json', 'unknown-task.json']);
    const expected: [string, string, RegExp][] = [
      ['cycle.json', '/tasks/0', /a -> b -> a/],
      ['unknown-class.json', '/tasks/0/class', /no_such_class/],
      ['unknown-task.json', '/tasks/0/input/x', /'ghost'/],
    ];
    for (const [file, pointer, named] of expected) {
      const problem = byFile.get(file)!;
      expect(problem.code).toBe('invalid_template');
      expect(problem.file).toBe(path.join(BAD_TEMPLATES, file));
      expect(problem.message).toContain(path.join(BAD_TEMPLATES, file));
      expect(problem.message).toMatch(named);
      expect(problem.details).toEqual([{ path: pointer, message: expect.stringMatching(named) }]);
    }
  });
});

describe('GET /api/v1/templates', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('lists each template with its version, name, description and task count', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/templates/' });
    expect(response.statusCode).toBe(200);
    const { templates } = response.json();
    expect(templates.map((t: { ref_name: string }) => t.ref_name)).toEqual(servableArticleTemplates(server));
    expect(templates.find((t: { ref_name: string }) => t.ref_name === 'noop_template_run')).toEqual({
      ref_name: 'noop_template_run',
      schema_version: 1,
      name: 'NOOP Template Run',
      description: 'Run no-op tasks',
      tasks: 3,
    });
  });

  it('serves noop_template_run with its DAG levels, its edges and its tasks', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/api/v1/templates/noop_template_run' });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.ref_name).toBe('noop_template_run');
    expect(body.versions).toEqual([1]);
    expect(body.dag.levels).toEqual([['noop_01', 'noop_02'], ['noop_03']]);
    expect(body.dag.edges).toEqual([
      { from: 'noop_01', to: 'noop_03' },
      { from: 'noop_02', to: 'noop_03' },
    ]);
    expect(body.tasks.map((t: { ref_name: string; class: string }) => [t.ref_name, t.class])).toEqual([
      ['noop_01', 'noop'],
      ['noop_02', 'noop'],
      ['noop_03', 'noop'],
    ]);
    expect(body.tasks[2].depends_on).toEqual(['noop_01', 'noop_02']);
    expect(body.document.workflow.input.global.runtime_delay).toBe(60);
  });

  it('serves one version when asked with ?version', async () => {
    const response = await server.app.inject({
      method: 'GET',
      url: '/api/v1/templates/noop_template_run?version=1',
    });
    expect(response.statusCode).toBe(200);
    expect(response.json().schema_version).toBe(1);
  });

  it('answers 404 with a not_found error for an unknown template or version', async () => {
    for (const url of [
      '/api/v1/templates/no_such_template',
      '/api/v1/templates/noop_template_run?version=7',
    ]) {
      const response = await server.app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
      expect(response.json()).toEqual({
        error: { code: 'not_found', message: expect.stringContaining('no template'), details: [] },
      });
    }
  });

  it('answers 400 with a pointer at the query when the version is not a whole number', async () => {
    for (const version of ['abc', '1.5', '0', '-1']) {
      const response = await server.app.inject({
        method: 'GET',
        url: `/api/v1/templates/noop_template_run?version=${version}`,
      });
      expect(response.statusCode, version).toBe(400);
      expect(response.json().error.code).toBe('bad_request');
      expect(response.json().error.details).toEqual([
        { path: '/querystring/version', message: expect.stringContaining(version) },
      ]);
    }
  });
});

describe('loadCatalogues with --strict', () => {
  const logger = pino({ level: 'silent' });

  // Only the named folders, so the outcome depends on them alone and not on the built-in templates.
  const strictConfig = (templateDirs: string[]) => ({ ...loadConfig({}, { strict: true }), templateDirs });

  it('refuses to load a template folder holding an invalid template', async () => {
    const loading = loadCatalogues(strictConfig([BAD_TEMPLATES]), logger);
    await expect(loading).rejects.toBeInstanceOf(O3Error);
    await expect(loading).rejects.toThrow(/refusing to start \(--strict\)/);
  });

  it('loads the same folder without --strict', async () => {
    const lenient = await loadCatalogues(loadConfig({}, { templateDirs: [BAD_TEMPLATES] }), logger);
    expect(lenient.templates.has('good_one')).toBe(true);
    expect(lenient.templates.has('cycle')).toBe(false);
  });

  it('starts when every template is valid', async () => {
    const { templates } = await loadCatalogues(strictConfig([path.join(BAD_TEMPLATES, 'good.json')]), logger);
    expect(templates.list().map((t) => t.refName)).toEqual(['good_one']);
  });
});
