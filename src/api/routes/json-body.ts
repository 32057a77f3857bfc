/** The body parsing of routes that take JSON documents: JSON only, with errors that say what is wrong. */
import type { FastifyInstance } from 'fastify';
import { O3Error, errorMessage } from '../../errors.js';

/**
 * Makes a plugin scope accept `application/json` bodies only. Fastify's own text/plain parser
 * would hand a string to the route, which then reads as an invalid document (422) instead of a
 * wrong media type (415); its JSON parser drops the reason a body is not valid JSON.
 */
export function acceptJsonBodiesOnly(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

/**
 * Parses a JSON body; throws a 400 O3Error when it is empty or not JSON. A `__proto__` key, or a
 * `constructor` holding a `prototype`, is refused as Fastify's parser does: merged into another
 * object later, it could change the prototype of every object.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new O3Error('bad_request', 'the body is empty; send a JSON document');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new O3Error('bad_request', `the body is not valid JSON: ${errorMessage(error)}`);
  }
  const poisoned = poisonedKey(parsed);
  if (poisoned !== undefined) {
    throw new O3Error('bad_request', `the body has ${poisoned}, which O3 refuses`);
  }
  return parsed;
}

/** Walks the value without recursion (a body may nest thousands of levels before validation refuses it). */
function poisonedKey(value: unknown): string | undefined {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (current === null || typeof current !== 'object') continue;
    for (const [key, item] of Object.entries(current as Record<string, unknown>)) {
      if (key === '__proto__') return "a '__proto__' key";
      if (
        key === 'constructor' &&
        item !== null &&
        typeof item === 'object' &&
        Object.hasOwn(item, 'prototype')
      ) {
        return "a 'constructor' key holding a 'prototype'";
      }
      stack.push(item);
    }
  }
  return undefined;
}
