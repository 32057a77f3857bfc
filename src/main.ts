/**
 * Starting O3: loadConfig → createStore → load tasks and templates → createEngine → buildApp →
 * listen. SIGTERM and SIGINT stop it cleanly (§7): no new task starts, everything is stored,
 * external jobs keep running and are resumed on the next start.
 */
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildApp } from './api/build-app.js';
import { loadConfig, type Config, type ConfigOverrides } from './config/config.js';
import { Engine } from './engine/engine.js';
import { LogFiles } from './engine/log-files.js';
import { SecretBox, loadSecretKey } from './engine/secret-box.js';
import { O3Error } from './errors.js';
import { createStore } from './store/create-store.js';
import type { Store } from './store/store.js';
import { loadTasks } from './task/load-tasks.js';
import type { TaskRegistry } from './task/task-registry.js';
import { loadTemplates } from './template/load-templates.js';
import { loadStoredTemplates, saveRegisteredTemplate } from './template/stored-templates.js';
import { TemplateRegistry } from './template/template-registry.js';

/** A running O3 node (started and listening). */
export type Server = Node;

/** Loads task classes and templates, reporting every invalid one; `strict` turns a problem into a refusal to start. */
export async function loadCatalogues(config: Readonly<Config>, logger: Logger) {
  const { registry: tasks, problems: taskProblems } = await loadTasks(config.taskDirs);
  for (const problem of taskProblems)
    logger.error({ file: problem.file }, `task module refused: ${problem.message}`);
  const { templates: loaded, problems: templateProblems } = await loadTemplates(
    config.templateDirs,
    tasks.lookupMeta,
  );
  for (const problem of templateProblems) {
    logger.error({ file: problem.file, details: problem.details }, `template refused: ${problem.message}`);
  }
  if (config.strict && taskProblems.length + templateProblems.length > 0) {
    throw new O3Error(
      'invalid_template',
      'refusing to start (--strict): some task modules or templates are invalid',
    );
  }
  const templates = new TemplateRegistry();
  for (const template of loaded) templates.add(template);
  logger.info({ tasks: tasks.list().length, templates: templates.list().length }, 'catalogues loaded');
  return { tasks, templates };
}

/** A node built but not started: everything wired, nothing resumed, nothing listening. */
export interface Node {
  config: Readonly<Config>;
  app: FastifyInstance;
  engine: Engine;
  store: Store;
  tasks: TaskRegistry;
  templates: TemplateRegistry;
  logger: Logger;
  /** Stops the API, then the engine (as SIGTERM does), then closes the store. */
  close(): Promise<void>;
}

/**
 * Builds a node: the store, the catalogues (files first, then templates registered over the API,
 * so a file keeps its own ref_name and schema_version), the engine and the API. Tests build theirs
 * with this too, so they run the production wiring.
 */
export async function createNode(
  config: Readonly<Config>,
  logger: Logger,
  secrets: SecretBox,
): Promise<Node> {
  const store = await createStore(config.store);
  for (const warning of await store.durabilityWarnings()) logger.warn({ store: store.kind }, warning);
  const { tasks, templates } = await loadCatalogues(config, logger);
  const stored = await loadStoredTemplates({ store, templates, tasks, logger });
  logger.info({ templates: stored }, 'templates registered over the API loaded from the store');
  const logFiles = config.logDir === null ? undefined : new LogFiles(config.logDir, logger);
  const engine = new Engine({ config, store, tasks, logger, secrets, logFiles });
  const app = await buildApp({
    engine,
    store,
    templates,
    tasks,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    onTemplateRegistered: (template) => saveRegisteredTemplate(store, template),
  });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      await app.close();
      await engine.stop();
      await store.close();
    })());
  return { config, app, engine, store, tasks, templates, logger, close };
}

/** Starts an O3 node: resumes unfinished requests, then listens. */
export async function startServer(
  overrides: ConfigOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Server> {
  const config = loadConfig(env, overrides);
  const logger = pino({ level: config.logLevel, base: { node: config.nodeId } });
  const secrets = new SecretBox(loadSecretKey(config.secretKey ?? undefined, config.secretKeyFile));
  const node = await createNode(config, logger, secrets);
  await node.engine.start();
  const url = await node.app.listen({ host: config.host, port: config.port });
  logger.info({ url, store: node.store.kind }, 'O3 is listening');
  return node;
}

/** Stops the server on SIGTERM/SIGINT and exits. */
export function exitOnSignals(server: Server): void {
  const stop = (signal: string) => {
    server.logger.info(
      { signal },
      'stopping: no new tasks start, state is stored, external jobs keep running',
    );
    const force = setTimeout(() => process.exit(1), server.config.shutdownGraceMs);
    force.unref();
    server
      .close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        server.logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}
