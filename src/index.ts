/** The public API for task authors: `import { Task } from 'o3'`. */
export { Task } from './task/task.js';
export type { TaskLogger, StateAttrOptions } from './task/task.js';
export type { TaskClassMetaInput, TaskInputSpec, TaskOutputSpec } from './task/meta.js';
export type { TaskState, LastTaskState } from './store/records.js';
export { TaskFailure } from './task/task-failure.js';
