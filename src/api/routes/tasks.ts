/** The task catalogue: every registered class with its metadata. */
import type { FastifyPluginAsync } from 'fastify';
import type { TaskClassMeta } from '../../task/meta.js';
import type { TaskClassList, TaskClassView } from '../answers.js';
import type { AppDeps } from '../build-app.js';

/** The public view of a task class (its source file is left out: paths are the operator's business). */
export function presentTaskClass(meta: TaskClassMeta): TaskClassView {
  return {
    name: meta.name,
    description: meta.description,
    inputs: meta.inputs,
    outputs: meta.outputs,
    ping_interval_seconds: meta.pingIntervalSeconds,
  };
}

/** `GET /tasks`. */
export function taskRoutes(deps: AppDeps): FastifyPluginAsync {
  return async (app) => {
    app.get('/tasks', async (): Promise<TaskClassList> => ({
      tasks: deps.tasks.list().map((entry) => presentTaskClass(entry.meta)),
    }));
  };
}
