/**
 * The REST API (§10) as a Fastify app. `buildApp` never listens: tests use `app.inject()`, and
 * main.ts calls `listen`.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Engine } from '../engine/engine.js';
import type { Store } from '../store/store.js';
import type { TaskRegistry } from '../task/task-registry.js';
import type { TemplateRegistry } from '../template/template-registry.js';
import type { CompiledTemplate } from '../template/types.js';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { answerFrameworkError, installErrorHandling } from './error-handler.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { healthRoutes } from './routes/health.js';
import { taskRoutes } from './routes/tasks.js';
import { templateRoutes } from './routes/templates.js';
import { workflowRoutes } from './routes/workflow.js';
import { uiRoutes } from './routes/ui.js';

/** The version of the API document (the package's version). */
const API_VERSION = '0.1.0';

/** Everything the routes need. */
export interface AppDeps {
  engine: Engine;
  store: Store;
  templates: TemplateRegistry;
  tasks: TaskRegistry;
  logger: Logger;
  bodyLimitBytes: number;
  now?: () => number;
  /** Persists a template registered over the API before it is used (so every node and restart has it). */
  onTemplateRegistered?: (template: CompiledTemplate) => Promise<void>;
}

/** Builds the API app (not listening). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const loggerInstance: FastifyBaseLogger = deps.logger;
  const app = Fastify({
    loggerInstance,
    // One line per HTTP request would drown the engine's own log and cost throughput; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
    frameworkErrors: answerFrameworkError,
  });
  installErrorHandling(app);
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'O3 workflow engine API',
        version: API_VERSION,
        description:
          'Submit workflow requests against registered templates, follow them, cancel, retry and revise them. ' +
          'Errors are `{"error": {"code", "message", "details": [{"path", "message"}]}}` with JSON pointers.',
      },
      tags: [
        { name: 'workflow', description: 'Workflow requests' },
        { name: 'catalogue', description: 'Templates and task classes' },
        { name: 'health', description: 'Liveness and readiness' },
      ],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes(deps));
  await app.register(workflowRoutes(deps), { prefix: '/api/v1' });
  await app.register(templateRoutes(deps), { prefix: '/api/v1' });
  await app.register(taskRoutes(deps), { prefix: '/api/v1' });
  await app.register(uiRoutes());
  return app;
}
