/**
 * Bad input to the workflow API, generated: every answer is a 4xx with an error body whose
 * pointers lie in the document sent, never a 5xx, and nothing invalid is stored. Seeds are fixed,
 * so a failure replays the same way (fast-check prints the seed and the shrunk counterexample).
 */
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { example } from '../helpers/examples.js';
import {
  deleteAt,
  isContainer,
  pointersOf,
  pointsIntoDocument,
  replaceAt,
  resolvePointer,
  type Json,
} from '../helpers/json-pointer.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SEED = 20_260_601;
const SUBMIT = '/api/v1/workflow/submit';
const VALIDATE = '/api/v1/workflow/validate';
const UNKNOWN_UUID = '0b9e2c1e-5d4f-4a43-9b1e-2f8d3c6a7b10';

/** The article's noop payload, parsed afresh (mutations never leak between runs). */
const article = (): Json => example('noop_request.json') as Json;

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Which parts of the article's payload are strict

const POINTERS = pointersOf(article());

/** Caller variables no class declares a type for: any JSON value there is still a valid request. */
function isFreeVariable(pointer: string): boolean {
  const inInputMap =
    /^\/workflow\/vars\/(global|workflow)\/input\/[^/]+$|^\/tasks\/[^/]+\/vars\/input\/[^/]+$/;
  // `delay` feeds noop's runtime_delay, which the class declares a number.
  return inInputMap.test(pointer) && !pointer.endsWith('/vars/input/delay');
}

/** Pointers where a value of another JSON type makes the request invalid. */
const STRICT_POINTERS = POINTERS.filter((pointer) => !isFreeVariable(pointer));
const REQUIRED_POINTERS = ['/workflow', '/workflow/meta', '/workflow/meta/ref', '/workflow/meta/template'];
/** Strict pointers whose value is not a string, so any string there is invalid. */
const NON_STRING_POINTERS = STRICT_POINTERS.filter(
  (pointer) => typeof resolvePointer(article(), pointer) !== 'string',
);

// ---------------------------------------------------------------------------------------------
// Generators

const endpoint = fc.constantFrom(SUBMIT, VALIDATE);
const jsonValue = fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>;

/** A value at a strict pointer whose JSON type differs from the article's value there. */
const wrongTyped = fc
  .constantFrom(...STRICT_POINTERS)
  .chain((pointer) =>
    jsonValue
      .filter((value) => jsonKind(value) !== jsonKind(resolvePointer(article(), pointer)))
      .map((value) => ({ pointer, value })),
  );

/** JSON text of arrays or objects nested `depth` levels deep (as text: JSON.stringify would overflow the stack). */
function nestedText(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array'
    ? `${'['.repeat(depth)}0${']'.repeat(depth)}`
    : `${'{"a":'.repeat(depth)}0${'}'.repeat(depth)}`;
}

// ---------------------------------------------------------------------------------------------
// What every error answer looks like

function json(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Checks an answer to bad input: a 4xx (one of `statuses` when given) whose body is
 * `{error: {code, message, details}}`, the code's status matching, and for a 422 every detail's
 * pointer lying in the document sent.
 */
function expectErrorAnswer(response: LightMyRequestResponse, sent: unknown, statuses?: number[]): void {
  const context = `${response.statusCode} ${response.body.slice(0, 500)}`;
  expect(response.statusCode, context).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, context).toBeLessThan(500);
  if (statuses) expect(statuses, context).toContain(response.statusCode);
  expect(response.headers['content-type'], context).toMatch(/^application\/json/);
  const body = json(response.body) as { error?: Record<string, unknown>; errors?: unknown } | undefined;
  const error = body?.error;
  expect(error, context).toEqual({
    code: expect.any(String),
    message: expect.stringMatching(/\S/),
    details: expect.any(Array),
  });
  const code = error!.code as keyof typeof ERROR_CODES;
  expect(ERROR_CODES[code]?.status, context).toBe(response.statusCode);
  const details = error!.details as { path: string; message: string }[];
  for (const detail of details) {
    expect(detail, context).toEqual({ path: expect.any(String), message: expect.stringMatching(/\S/) });
    expect(detail.path, context).toMatch(/^(\/([^~/]|~[01])*)*$/);
  }
  if (response.statusCode === 422) {
    expect(details.length, context).toBeGreaterThan(0);
    for (const { path } of details)
      expect(pointsIntoDocument(sent, path), `${path} in ${context}`).toBe(true);
    // validate answers `{valid: false, errors}` too; they must be the same problems.
    if (body?.errors !== undefined) expect(body.errors).toEqual(details);
  }
}

// ---------------------------------------------------------------------------------------------

describe('the workflow API under generated bad input', () => {
  let server: TestServer;
  let runs = 0;

  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  async function post(url: string, payload: string | Buffer, contentType?: string) {
    runs += 1;
    return server.app.inject({
      method: 'POST',
      url,
      payload,
      headers: contentType === undefined ? {} : { 'content-type': contentType },
    });
  }

  const postJson = (url: string, document: Json) => post(url, JSON.stringify(document), 'application/json');

  async function expectServerHealthy(): Promise<void> {
    const health = await server.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode).toBe(200);
  }

  const options = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

  it('answers 400 to a valid payload cut short at any point', async () => {
    const text = JSON.stringify(article());
    await fc.assert(
      fc.asyncProperty(endpoint, fc.integer({ min: 1, max: text.length - 1 }), async (url, cut) => {
        const response = await post(url, text.slice(0, cut), 'application/json');
        expectErrorAnswer(response, undefined, [400]);
        expect(response.json().error.message).toMatch(/not valid JSON/);
      }),
      options(200),
    );
    await expectServerHealthy();
  });

  it('answers 400 or 422 to random bytes and random text sent as JSON', async () => {
    const bytes = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((array) => Buffer.from(array));
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(endpoint, fc.oneof(bytes, text), async (url, payload) => {
        const response = await post(url, payload, 'application/json');
        expectErrorAnswer(response, json(payload.toString()), [400, 422]);
      }),
      options(150),
    );
    await expectServerHealthy();
  });

  it('answers 422 with a pointer into the document to a value of the wrong type anywhere structural', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, wrongTyped, async (url, { pointer, value }) => {
        const document = replaceAt(article(), pointer, value);
        const response = await postJson(url, document);
        expectErrorAnswer(response, document, [422]);
        const paths = response.json().error.details.map((d: { path: string }) => d.path);
        // The problem is reported at the replaced value, or at a member of it, or where it was required.
        expect(
          paths.some(
            (path: string) => path === pointer || path.startsWith(`${pointer}/`) || pointer.startsWith(path),
          ),
          `${pointer}: ${paths.join(', ')}`,
        ).toBe(true);
      }),
      options(300),
    );
    await expectServerHealthy();
  });

  it('answers 422 when keys are deleted, among them a required one', async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        fc.constantFrom(...REQUIRED_POINTERS),
        fc.shuffledSubarray(
          POINTERS.filter((pointer) => pointer !== ''),
          { maxLength: 6 },
        ),
        async (url, required, others) => {
          const document = deleteAt(article(), [...others, required]);
          expect(resolvePointer(document, required)).toBeUndefined();
          const response = await postJson(url, document);
          expectErrorAnswer(response, document, [422]);
        },
      ),
      options(100),
    );
    await expectServerHealthy();
  });

  it('answers 422 at the root to a document nested deeper than 200 levels anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        fc.constantFrom(...POINTERS),
        fc.integer({ min: 201, max: 5000 }),
        fc.constantFrom('array' as const, 'object' as const),
        async (url, pointer, depth, shape) => {
          const marker = 'nested-value-goes-here';
          const text = JSON.stringify(replaceAt(article(), pointer, marker)).replace(
            JSON.stringify(marker),
            nestedText(depth, shape),
          );
          const response = await post(url, text, 'application/json');
          // Every detail must point at the root, so the shallow document stands in for the deep one.
          expectErrorAnswer(response, replaceAt(article(), pointer, marker), [422]);
          expect(response.json().error.details).toContainEqual({
            path: '',
            message: expect.stringMatching(/nested more than 200 levels/),
          });
        },
      ),
      options(50),
    );
    await expectServerHealthy();
  });

  it('answers 413 to a body over the limit, and 422 to a huge string where the schema wants no string', async () => {
    const limit = server.config.bodyLimitBytes;
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        fc.constantFrom(...POINTERS),
        fc.integer({ min: limit + 1, max: 2 * limit }),
        fc.constantFrom('x', 'é', '"', '\\', '\u0000'),
        async (url, pointer, length, unit) => {
          const response = await postJson(url, replaceAt(article(), pointer, unit.repeat(length)));
          expectErrorAnswer(response, undefined, [413]);
        },
      ),
      options(20),
    );
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        fc.constantFrom(...NON_STRING_POINTERS),
        fc.integer({ min: 10_000, max: Math.floor(limit / 4) }),
        async (url, pointer, length) => {
          const document = replaceAt(article(), pointer, 'x'.repeat(length));
          expectErrorAnswer(await postJson(url, document), document, [422]);
        },
      ),
      options(30),
    );
    await expectServerHealthy();
  });

  it('answers 415 to a body of another media type', async () => {
    const mediaType = fc.constantFrom(
      'text/plain',
      'text/plain; charset=utf-8',
      'application/xml',
      'text/xml',
      'text/html',
      'multipart/form-data; boundary=o3',
      'application/x-www-form-urlencoded',
      'application/octet-stream',
      'image/png',
      'application/jsonx',
    );
    const body = fc.oneof(
      fc.constant(JSON.stringify(article())),
      fc.string({ minLength: 1, maxLength: 200 }),
    );
    await fc.assert(
      fc.asyncProperty(endpoint, mediaType, body, async (url, type, payload) => {
        const response = await post(url, payload, type);
        expectErrorAnswer(response, undefined, [415]);
        expect(response.json().error.code).toBe('unsupported_media_type');
      }),
      options(100),
    );
    await expectServerHealthy();
  });

  it('answers 400 to an empty body, with or without a JSON content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        endpoint,
        fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-8'),
        fc.constantFrom('', ' ', '\n\t '),
        async (url, type, payload) => {
          const response = await post(url, payload, payload === '' ? type : (type ?? 'application/json'));
          expectErrorAnswer(response, undefined, [400]);
          expect(response.json().error.message).toMatch(/empty|not valid JSON/);
        },
      ),
      options(30),
    );
    await expectServerHealthy();
  });

  it('validates any mutation of the payload without a 5xx: valid with a plan, or 422 with pointers into it', async () => {
    const mutation: fc.Arbitrary<(document: Json) => Json> = fc.oneof(
      fc.tuple(fc.constantFrom(...POINTERS), jsonValue).map(
        ([pointer, value]) =>
          (document: Json) =>
            replaceAt(document, pointer, value),
      ),
      fc
        .subarray(
          POINTERS.filter((p) => p !== ''),
          { minLength: 1, maxLength: 4 },
        )
        .map((pointers) => (document: Json) => deleteAt(document, pointers)),
      fc
        .tuple(fc.constantFrom(...POINTERS), fc.string({ maxLength: 12 }), jsonValue)
        .map(([pointer, key, value]) => (document: Json) => {
          const target = resolvePointer(document, pointer);
          return isContainer(target) && !Array.isArray(target)
            ? replaceAt(document, pointer, { ...target, [key]: value })
            : document;
        }),
    );
    const outcomes = { valid: 0, invalid: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        const document = mutations.reduce((doc, mutate) => mutate(doc), article());
        const response = await postJson(VALIDATE, document);
        outcomes[response.statusCode === 200 ? 'valid' : 'invalid'] += 1;
        if (response.statusCode === 200) {
          expect(response.json()).toMatchObject({ valid: true, plan: { levels: expect.any(Array) } });
        } else {
          expectErrorAnswer(response, document, [422]);
          expect(response.json().valid).toBe(false);
        }
      }),
      options(400),
    );
    // Both outcomes occur, so the property checks something either way.
    expect(outcomes.valid).toBeGreaterThan(20);
    expect(outcomes.invalid).toBeGreaterThan(20);
    await expectServerHealthy();
  });

  it('ran at least 1,000 generated bodies, stored none of them, and still answers', async () => {
    expect(runs).toBeGreaterThanOrEqual(1000);
    await expectServerHealthy();
    const list = await server.app.inject({ method: 'GET', url: '/api/v1/workflow?limit=1000' });
    expect(list.statusCode).toBe(200);
    expect(list.json().items).toEqual([]);
    expect((await server.store.listRequests({}, { limit: 1000 })).items).toEqual([]);
  });
});

describe('the workflow API on fixed bad input', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const inject = (method: 'GET' | 'POST', url: string) => server.app.inject({ method, url });

  it('answers malformed JSON with 400 and a message saying it is not valid JSON', async () => {
    for (const url of [SUBMIT, VALIDATE]) {
      const response = await server.app.inject({
        method: 'POST',
        url,
        payload: '{"workflow": {"meta": ',
        headers: { 'content-type': 'application/json' },
      });
      expectErrorAnswer(response, undefined, [400]);
      expect(response.json().error).toMatchObject({
        code: 'bad_request',
        message: expect.stringMatching(/^the body is not valid JSON/),
      });
    }
  });

  it('refuses a __proto__ key with 400 and does not change any prototype', async () => {
    const payload = '{"__proto__": {"polluted": true}, "workflow": {"meta": {"ref": "p", "template": "x"}}}';
    const response = await server.app.inject({
      method: 'POST',
      url: VALIDATE,
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expectErrorAnswer(response, undefined, [400]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers an unknown template with 422 at /workflow/meta/template', async () => {
    const document = article() as any;
    document.workflow.meta.template = 'no_such_template';
    for (const url of [SUBMIT, VALIDATE]) {
      const response = await server.app.inject({ method: 'POST', url, payload: document });
      expectErrorAnswer(response, document, [422]);
      expect(response.json().error.code).toBe('invalid_request');
      expect(response.json().error.details).toEqual([
        { path: '/workflow/meta/template', message: "no template 'no_such_template' is registered" },
      ]);
    }
  });

  it('answers 404 for an unknown uuid on detail, cancel and logs', async () => {
    for (const [method, url] of [
      ['GET', `/api/v1/workflow/${UNKNOWN_UUID}`],
      ['POST', `/api/v1/workflow/${UNKNOWN_UUID}/cancel`],
      ['GET', `/api/v1/workflow/${UNKNOWN_UUID}/logs`],
    ] as const) {
      const response = await inject(method, url);
      expectErrorAnswer(response, undefined, [404]);
      expect(response.json().error).toMatchObject({
        code: 'not_found',
        message: `no request ${UNKNOWN_UUID}`,
      });
    }
  });

  it('answers 404, not 500, for path parameters that are not uuids', async () => {
    const notUuids = [
      'not-a-uuid',
      '42',
      'x'.repeat(100),
      '%20',
      '..%2F..',
      'caf%C3%A9',
      "'%3B%20DROP%20TABLE",
    ];
    for (const id of notUuids) {
      for (const [method, url] of [
        ['GET', `/api/v1/workflow/${id}`],
        ['POST', `/api/v1/workflow/${id}/cancel`],
        ['GET', `/api/v1/workflow/${id}/logs`],
      ] as const) {
        const response = await inject(method, url);
        expectErrorAnswer(response, undefined, [404]);
      }
    }
  });

  it('answers an over-long path parameter (404) and a bad %-escape (400) in the error shape, not 500', async () => {
    const cases: [string, number][] = [
      [`/api/v1/workflow/${'x'.repeat(5000)}`, 404],
      ['/api/v1/workflow/%E0%A4%A/logs', 400],
    ];
    for (const [url, status] of cases) {
      const response = await inject('GET', url);
      expect(response.statusCode, url).toBe(status);
      expect(typeof response.json().error.message, url).toBe('string');
    }
  });

  it('answers a bad list query with 400 and a pointer under /querystring/', async () => {
    const cases: [string, string][] = [
      ['status=bogus', '/querystring/status'],
      ['limit=0', '/querystring/limit'],
      ['limit=1001', '/querystring/limit'],
      ['limit=ten', '/querystring/limit'],
    ];
    for (const [query, pointer] of cases) {
      const response = await inject('GET', `/api/v1/workflow?${query}`);
      expectErrorAnswer(response, undefined, [400]);
      expect(response.json().error.code, query).toBe('bad_request');
      expect(
        response.json().error.details.map((d: { path: string }) => d.path),
        query,
      ).toContain(pointer);
    }
  });

  it('answers a repeated query parameter with 400, not 500', async () => {
    for (const query of [
      'template=a&template=b',
      'ref=a&ref=b',
      'trace_id=a&trace_id=b',
      'status=failed&status=running',
    ]) {
      const response = await inject('GET', `/api/v1/workflow?${query}`);
      expectErrorAnswer(response, undefined, [400]);
    }
    const template = await inject('GET', '/api/v1/templates/noop_template_run?version=1&version=2');
    expectErrorAnswer(template, undefined, [400]);
  });

  it('answers a cursor that is not one of its own with 400', async () => {
    const response = await inject('GET', '/api/v1/workflow?cursor=not-a-cursor');
    expectErrorAnswer(response, undefined, [400]);
    expect(response.json().error.message).toMatch(/cursor/);
  });

  it('names the allowed statuses when the status filter is not one', async () => {
    const response = await inject('GET', '/api/v1/workflow?status=bogus');
    expect(response.json().error).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/status must be one of scheduled, pending, running/),
      details: [{ path: '/querystring/status', message: expect.stringMatching(/^must be one of /) }],
    });
  });
});
