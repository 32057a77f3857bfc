import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

describe('the OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('is OpenAPI 3.1 and lists every route of the API with its error answers', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    const routes = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const route of [
      'POST /api/v1/workflow/submit',
      'POST /api/v1/workflow/validate',
      'GET /api/v1/workflow',
      'GET /api/v1/workflow/{uuid}',
      'GET /api/v1/workflow/{uuid}/revisions/{revision}',
      'POST /api/v1/workflow/{uuid}/cancel',
      'POST /api/v1/workflow/{uuid}/retry',
      'POST /api/v1/workflow/{uuid}/revise',
      'GET /api/v1/workflow/{uuid}/logs',
      'GET /api/v1/templates',
      'POST /api/v1/templates',
      'GET /api/v1/templates/{ref}',
      'GET /api/v1/tasks',
      'GET /healthz',
      'GET /readyz',
    ]) {
      expect(routes).toContain(route);
    }
    const submit = document.paths['/api/v1/workflow/submit'].post;
    expect(Object.keys(submit.responses)).toEqual(
      expect.arrayContaining(['201', '200', '409', '413', '415', '422']),
    );
    expect(JSON.stringify(submit.requestBody)).toContain('RequestPayload');
    expect(document.components.schemas.ErrorBody).toBeDefined();
  });

  it('serves a readable docs page without any outside resource', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/docs/' });
    expect(response.statusCode).toBe(200);
    expect(response.body).toContain('swagger');
    expect(response.body).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i);
  });
});
