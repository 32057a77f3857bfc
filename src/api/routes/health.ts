/** Liveness and readiness. */
import type { FastifyPluginAsync } from 'fastify';
import { errorMessage } from '../../errors.js';
import type { AppDeps } from '../build-app.js';
import { errorBody } from '../error-handler.js';

/** `/healthz` answers while the process runs; `/readyz` only while the store answers too. */
export function healthRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (_request, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready', store: deps.store.kind };
      } catch (error) {
        return reply
          .status(503)
          .send(errorBody('store_unavailable', `the store is unreachable: ${errorMessage(error)}`));
      }
    });
  };
}
