/**
 * Generated bad input to revise and to template registration: never a 5xx, every 4xx an error body
 * whose 422 pointers lie in the document sent, and nothing invalid registered or run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { ROOT, example } from '../helpers/examples.js';
import { deleteAt, pointersOf, pointsIntoDocument, replaceAt, type Json } from '../helpers/json-pointer.js';
import { startTestServer, waitForEnd, type TestServer } from '../helpers/test-server.js';

const SEED = 20_261_126;
const noopTemplate = (): Json =>
  JSON.parse(readFileSync(path.join(ROOT, 'templates/noop_template_run.json'), 'utf8')) as Json;
const jsonValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

let answered = 0;

function expectWellFormed(status: number, body: string, sent: unknown): void {
  answered += 1;
  expect(status, body).toBeLessThan(500);
  if (status < 400) return;
  const error = (
    JSON.parse(body) as {
      error: { code: keyof typeof ERROR_CODES; message: string; details: { path: string }[] };
    }
  ).error;
  expect(ERROR_CODES[error.code].status, body).toBe(status);
  expect(error.message).toMatch(/\S/);
  if (status === 422)
    for (const { path: pointer } of error.details)
      expect(pointsIntoDocument(sent, pointer), pointer).toBe(true);
}

describe('revise and template registration under generated bad input', () => {
  let server: TestServer;
  let uuid: string;
  const templateCount = async () =>
    ((await server.app.inject({ method: 'GET', url: '/api/v1/templates' })).json().templates as unknown[])
      .length;

  beforeAll(async () => {
    server = await startTestServer();
    const payload = example('noop_request.json');
    payload.workflow.vars.workflow.input.delay = 0;
    payload.tasks.noop_01.vars.input.delay = 0;
    payload.tasks.noop_02.vars.input.delay = 0;
    uuid = (await server.app.inject({ method: 'POST', url: '/api/v1/workflow/submit', payload })).json().uuid;
    await waitForEnd(server, uuid);
  });
  afterAll(async () => {
    await server.close();
  });

  it('answers every malformed revise body with a 4xx error, and adds no revision', async () => {
    const good = { vars: { workflow: { input: { delay: 0 } } } };
    const bodies = fc.oneof(
      fc
        .nat({ max: JSON.stringify(good).length - 1 })
        .map((cut) => ({ text: JSON.stringify(good).slice(0, cut), doc: undefined })),
      jsonValue
        .filter((v) => v === null || typeof v !== 'object' || Array.isArray(v))
        .map((doc) => ({ text: JSON.stringify(doc), doc })),
      fc
        .record({ vars: jsonValue.filter((v) => v === null || typeof v !== 'object' || Array.isArray(v)) })
        .map((doc) => ({ text: JSON.stringify(doc), doc })),
      fc
        .dictionary(
          fc.string({ minLength: 1 }).filter((k) => !['vars', 'tasks', 'schedule', '__proto__'].includes(k)),
          jsonValue,
          { minKeys: 1 },
        )
        .map((doc) => ({ text: JSON.stringify(doc), doc })),
      fc
        .record({
          tasks: fc.dictionary(
            fc.string({ minLength: 1 }).filter((k) => !k.startsWith('noop_0') && k !== '__proto__'),
            jsonValue,
            { minKeys: 1 },
          ),
        })
        .map((doc) => ({ text: JSON.stringify(doc), doc })),
      fc
        .record({ schedule: fc.record({ when: fc.constantFrom('at', 'later', 7), start: fc.string() }) })
        .map((doc) => ({ text: JSON.stringify(doc), doc })),
    );
    await fc.assert(
      fc.asyncProperty(bodies, async ({ text, doc }) => {
        const response = await server.app.inject({
          method: 'POST',
          url: `/api/v1/workflow/${uuid}/revise`,
          headers: { 'content-type': 'application/json' },
          payload: text,
        });
        expect(response.statusCode, response.body).toBeGreaterThanOrEqual(400);
        expectWellFormed(response.statusCode, response.body, doc);
      }),
      { seed: SEED, numRuns: 600 },
    );
    const detail = (await server.app.inject({ method: 'GET', url: `/api/v1/workflow/${uuid}` })).json();
    expect(detail.revision).toBe(1);
  });

  it('answers every mutated or malformed template with 201/200 when it is still valid, else a 4xx, never a 5xx', async () => {
    const before = await templateCount();
    let registered = 0;
    const original = noopTemplate();
    const pointers = pointersOf(original).filter((p) => p !== '');
    const documents = fc.oneof(
      fc
        .record({ pointer: fc.constantFrom(...pointers), value: jsonValue })
        .map(({ pointer, value }) => replaceAt(noopTemplate(), pointer, value)),
      fc.subarray(pointers, { minLength: 1, maxLength: 3 }).map((gone) => deleteAt(noopTemplate(), gone)),
    );
    const cases = fc.oneof(
      documents.map((doc) => ({ text: JSON.stringify(doc), doc, type: 'application/json' })),
      fc.nat({ max: JSON.stringify(original).length - 1 }).map((cut) => ({
        text: JSON.stringify(original).slice(0, cut),
        doc: undefined,
        type: 'application/json',
      })),
      fc.string().map((text) => ({ text: `name: [${text}`, doc: undefined, type: 'application/yaml' })),
      fc
        .constantFrom('text/plain', 'application/xml')
        .map((type) => ({ text: '<x/>', doc: undefined, type })),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ text, doc, type }) => {
        const response = await server.app.inject({
          method: 'POST',
          url: '/api/v1/templates',
          headers: { 'content-type': type },
          payload: text,
        });
        if (response.statusCode === 201) registered += 1;
        expectWellFormed(response.statusCode, response.body, doc);
      }),
      { seed: SEED, numRuns: 600 },
    );
    const after = await templateCount();
    expect(after - before).toBe(registered);
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect(answered).toBeGreaterThanOrEqual(1200);
  });
});
