import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerFrameworkError, installErrorHandling, toAnswer } from '../../src/api/error-handler.js';
import { O3Error } from '../../src/errors.js';

describe('toAnswer', () => {
  it('keeps the code, message and details of an O3Error', () => {
    const error = new O3Error('conflict', 'taken', { details: [{ path: '/a', message: 'b' }] });
    expect(toAnswer(error)).toEqual({
      status: 409,
      body: { error: { code: 'conflict', message: 'taken', details: [{ path: '/a', message: 'b' }] } },
    });
  });

  it('answers an unknown error with a plain 500 that leaks neither message nor stack', () => {
    const answer = toAnswer(new TypeError('secret internals at /srv/o3/src/x.ts:12'));
    expect(answer.status).toBe(500);
    expect(JSON.stringify(answer.body)).not.toMatch(/secret|\.ts/);
    expect(answer.body.error.code).toBe('internal');
  });
});

describe('the error handler on Fastify validation errors', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ frameworkErrors: answerFrameworkError });
    installErrorHandling(app);
    app.get(
      '/items/:id',
      {
        schema: {
          params: { type: 'object', properties: { id: { type: 'integer' } } },
          querystring: {
            type: 'object',
            properties: {
              color: { anyOf: [{ const: 'red' }, { const: 'green' }] },
              size: { type: 'integer', minimum: 1 },
            },
            required: ['size'],
          },
        },
      },
      async () => ({ ok: true }),
    );
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('reports a value outside a union of constants once, naming the allowed values', async () => {
    const response = await app.inject({ method: 'GET', url: '/items/1?size=2&color=blue' });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({
      error: {
        code: 'bad_request',
        message: 'the query string is invalid: color must be one of red, green',
        details: [{ path: '/querystring/color', message: 'must be one of red, green' }],
      },
    });
  });

  it('points a missing required parameter at its own name', async () => {
    const response = await app.inject({ method: 'GET', url: '/items/1' });
    expect(response.json().error).toEqual({
      code: 'bad_request',
      message: 'the query string is invalid: size is required',
      details: [{ path: '/querystring/size', message: 'is required' }],
    });
  });

  it('calls path parameters the path', async () => {
    const response = await app.inject({ method: 'GET', url: '/items/abc?size=1' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.message).toBe('the path is invalid: id must be integer');
    expect(response.json().error.details).toEqual([{ path: '/params/id', message: 'must be integer' }]);
  });
});

describe('answerFrameworkError', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = Fastify({ frameworkErrors: answerFrameworkError });
    installErrorHandling(app);
    app.get('/workflow/:uuid', async () => ({ ok: true }));
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  it('answers a path parameter over the length limit with a 404 in the error shape', async () => {
    const response = await app.inject({ method: 'GET', url: `/workflow/${'x'.repeat(5000)}` });
    expect(response.statusCode).toBe(404);
    const { error } = response.json();
    expect(error).toEqual({ code: 'not_found', message: expect.stringMatching(/too long/), details: [] });
    expect(error.message.length).toBeLessThan(200);
  });

  it('answers a bad %-escape with a 400 in the error shape', async () => {
    const response = await app.inject({ method: 'GET', url: '/workflow/%E0%A4%A' });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toEqual({
      code: 'bad_request',
      message: expect.stringMatching(/is not valid/),
      details: [],
    });
  });
});
