/** Liveness and readiness. */
import type { FastifyPluginAsync } from 'fastify';
import { errorMessage } from '../../errors.js';
import type { Liveness, Readiness } from '../answers.js';
import type { AppDeps } from '../build-app.js';
import { errorBody } from '../error-handler.js';
import { errors } from '../schemas.js';

/** `/healthz` answers while the process runs; `/readyz` only while the store answers too. */
export function healthRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/healthz',
      { schema: { summary: 'Liveness: the process answers', tags: ['health'] } },
      async (): Promise<Liveness> => ({
        status: 'ok',
      }),
    );
    const readiness = { summary: 'Readiness: the store answers (503 while it does not)', tags: ['health'] };
    app.get('/readyz', { schema: { ...readiness, response: errors(503) } }, async (_request, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready', store: deps.store.kind } satisfies Readiness;
      } catch (error) {
        return reply
          .status(503)
          .send(errorBody('store_unavailable', `the store is unreachable: ${errorMessage(error)}`));
      }
    });
  };
}
