import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';

const template = {
  name: 'Posted',
  ref_name: 'posted_template',
  schema_version: 1,
  tasks: [
    { name: 'First', ref_name: 'first', class: 'noop', input: { runtime_delay: 0 } },
    {
      name: 'Second',
      ref_name: 'second',
      class: 'noop',
      input: { runtime_delay: 0, seed: '${first.output.rand_no}' },
    },
  ],
};

describe('POST /api/v1/templates', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('registers a valid template, which requests can then use, and answers its DAG', async () => {
    const posted = await server.app.inject({ method: 'POST', url: '/api/v1/templates', payload: template });
    expect(posted.statusCode, posted.body).toBe(201);
    expect(posted.json().dag.levels).toEqual([['first'], ['second']]);
    const detail = await server.app.inject({ method: 'GET', url: '/api/v1/templates/posted_template' });
    expect(detail.json().dag.edges).toEqual([{ from: 'first', to: 'second' }]);
    const submitted = await server.app.inject({
      method: 'POST',
      url: '/api/v1/workflow/submit',
      payload: { workflow: { meta: { ref: 'uses-posted', template: 'posted_template' } } },
    });
    expect(submitted.statusCode).toBe(201);
    expect((await waitForEnd(server, submitted.json().uuid)).status).toBe('successful');
  });

  it('accepts YAML, answers 200 for the same document again and 409 for another one under the same version', async () => {
    const yaml = `name: Posted
ref_name: posted_yaml
schema_version: 3
tasks:
  - name: Only
    ref_name: only
    class: noop
    input: { runtime_delay: 0 }
`;
    const register = (payload: string) =>
      server.app.inject({
        method: 'POST',
        url: '/api/v1/templates',
        headers: { 'content-type': 'application/yaml' },
        payload,
      });
    const first = await register(yaml);
    expect(first.statusCode).toBe(201);
    const again = await register(yaml);
    expect(again.statusCode).toBe(200);
    // The same answer as the first registration's, versions included.
    expect(again.json()).toEqual(first.json());
    expect(again.json().versions).toEqual([3]);
    const conflict = await register(yaml.replace('runtime_delay: 0', 'runtime_delay: 1'));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.message).toContain('new schema_version');
  });

  it('refuses an invalid template with 422 naming every problem with its pointer, and registers nothing', async () => {
    const bad = structuredClone(template) as any;
    bad.ref_name = 'bad_posted';
    bad.tasks[0].class = 'no_such_class';
    bad.tasks[1].depends_on = ['ghost'];
    const answer = await server.app.inject({ method: 'POST', url: '/api/v1/templates', payload: bad });
    expect(answer.statusCode).toBe(422);
    const paths = answer.json().error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['/tasks/0/class', '/tasks/1/depends_on/0']));
    expect((await server.app.inject({ method: 'GET', url: '/api/v1/templates/bad_posted' })).statusCode).toBe(
      404,
    );
    const text = await server.app.inject({
      method: 'POST',
      url: '/api/v1/templates',
      headers: { 'content-type': 'text/plain' },
      payload: 'x',
    });
    expect(text.statusCode).toBe(415);
  });
});
