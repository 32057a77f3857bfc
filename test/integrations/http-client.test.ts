import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpClient, serverDelayMs } from '../../src/integrations/http-client.js';
import { TaskFailure } from '../../src/task/task-failure.js';
import { FakeHttp } from '../fakes/fake-http.js';

const FAST = { baseDelayMs: 10, maxDelayMs: 20 };

describe('serverDelayMs', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');

  it('reads Retry-After as seconds or as an HTTP date', () => {
    expect(serverDelayMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(serverDelayMs({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }, now)).toBe(5000);
  });

  it('reads X-RateLimit-Reset as seconds left (TFE) or as an epoch second', () => {
    expect(serverDelayMs({ 'x-ratelimit-reset': '0.25' }, now)).toBe(250);
    expect(serverDelayMs({ 'x-ratelimit-reset': String(now / 1000 + 2) }, now)).toBe(2000);
    expect(serverDelayMs({}, now)).toBeUndefined();
  });
});

describe('HttpClient against a fake server', () => {
  let fake: FakeHttp;
  let client: HttpClient;
  let calls = 0;

  beforeEach(async () => {
    calls = 0;
    fake = new FakeHttp(() => null);
    fake.route('thing', 'GET', '/api/thing', () => ({ status: 200, json: { n: ++calls } }));
    fake.route('make', 'POST', '/api/make', () => ({ status: 201, json: { id: ++calls } }));
    await fake.listen();
    client = new HttpClient({
      service: 'AWX',
      baseUrl: fake.url,
      token: 'tok-123456',
      tokenInput: 'awx_token',
      tls: { rejectUnauthorized: true },
      retry: FAST,
    });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('retries a read through 5xx and a dropped connection, then answers', async () => {
    fake.inject('thing', { kind: 'status', status: 500, times: 2 });
    fake.inject('thing', { kind: 'drop' });
    const answer = await client.getJson<{ n: number }>({ path: 'api/thing', what: 'read the thing' });
    expect(answer.n).toBe(1);
    expect(fake.seen('thing')).toHaveLength(4);
  });

  it('gives up on a read after the last attempt with a retryable failure naming the last error', async () => {
    fake.inject('thing', { kind: 'status', status: 503, times: 10 });
    const error = await client
      .getJson({ path: 'api/thing', what: 'read the thing' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TaskFailure);
    expect((error as TaskFailure).retryable).toBe(true);
    expect((error as TaskFailure).message).toBe(
      'AWX could not read the thing after 5 attempts (last: 503 Service Unavailable)',
    );
  });

  it('does not repeat a create answered 500, and does repeat one answered 429', async () => {
    fake.inject('make', { kind: 'status', status: 500 });
    const error = await client
      .call({ method: 'POST', path: 'api/make', json: {}, what: 'make it' })
      .catch((e: unknown) => e);
    expect((error as TaskFailure).message).toBe(
      'AWX gave no usable answer when asked to make it (500 Internal Server Error); it may have done it',
    );
    expect(fake.seen('make')).toHaveLength(1);
    fake.inject('make', { kind: 'status', status: 429, retryAfter: '0' });
    const answer = await client.call({ method: 'POST', path: 'api/make', json: {}, what: 'make it' });
    expect(answer.status).toBe(201);
    expect(fake.seen('make')).toHaveLength(3);
  });

  it('sends the token only to its own origin', async () => {
    const other = new FakeHttp(() => null);
    other.route('file', 'GET', '/file', () => ({ status: 200, text: 'x' }));
    await other.listen();
    try {
      await client.call({ path: `${other.url}/file`, what: 'fetch a file' });
      await client.call({ path: 'api/thing', what: 'read the thing' });
      expect(other.seen('file')[0]!.headers.authorization).toBeUndefined();
      expect(fake.seen('thing')[0]!.headers.authorization).toBe('Bearer tok-123456');
    } finally {
      await other.close();
    }
  });

  it('stops waiting between retries when the signal aborts', async () => {
    const slow = new HttpClient({
      service: 'AWX',
      baseUrl: fake.url,
      tls: { rejectUnauthorized: true },
      retry: { baseDelayMs: 10_000, maxDelayMs: 10_000 },
    });
    fake.inject('thing', { kind: 'status', status: 502, times: 3 });
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('canceled')), 100);
    await expect(
      slow.getJson({ path: 'api/thing', what: 'read', signal: controller.signal }),
    ).rejects.toThrow('canceled');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
