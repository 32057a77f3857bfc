/**
 * O3's configuration: one schema with defaults, read once from the environment and command-line
 * overrides, then frozen. Nothing else in O3 reads process.env.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { O3Error } from '../errors.js';

/** The folder O3 is installed in (for the built-in tasks and templates). */
export const INSTALL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The frozen configuration of one O3 process. */
export interface Config {
  host: string;
  port: number;
  /** `sqlite:PATH`, `postgres://…` or `redis://…`. */
  store: string;
  /** Template folders, built-in first; later folders win on a repeated ref_name and version. */
  templateDirs: string[];
  /** Task folders, built-in first; later folders win on a repeated name. */
  taskDirs: string[];
  /** Refuse to start when a template or task module is invalid. */
  strict: boolean;
  maxConcurrentTasks: number;
  /** How long a node's ownership of a request lasts without renewal. */
  leaseMs: number;
  /** This node's identity in leases. */
  nodeId: string;
  logLevel: string;
  /** When set, task and request logs are also written to files in this folder. */
  logDir: string | null;
  /** Largest accepted request body, in bytes. */
  bodyLimitBytes: number;
  /** How long SIGTERM waits for in-flight writes before exiting. */
  shutdownGraceMs: number;
  /** The key that encrypts secrets at rest (base64 of 32 bytes), from O3_SECRET_KEY; never logged. */
  secretKey: string | null;
  /** Where the key is kept when O3_SECRET_KEY is not set (created on first start). */
  secretKeyFile: string;
}

/** Command-line values that override the environment. */
export type ConfigOverrides = Partial<Pick<Config, 'host' | 'port' | 'store' | 'strict' | 'logLevel'>> & {
  templateDirs?: string[];
  taskDirs?: string[];
};

const BUILTIN_TEMPLATES = path.join(INSTALL_DIR, 'templates');
const BUILTIN_TASKS = path.join(INSTALL_DIR, 'tasks');

/** Builds the configuration from the environment and overrides; throws O3Error on a bad value. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: ConfigOverrides = {},
): Readonly<Config> {
  const config: Config = {
    host: overrides.host ?? env.O3_HOST ?? '127.0.0.1',
    port: overrides.port ?? integer(env.O3_PORT, 'O3_PORT', 8080, 0, 65535),
    store: overrides.store ?? env.O3_STORE ?? 'sqlite:./data/o3.db',
    templateDirs: [
      BUILTIN_TEMPLATES,
      './templates',
      ...list(env.O3_TEMPLATE_DIRS),
      ...(overrides.templateDirs ?? []),
    ],
    taskDirs: [BUILTIN_TASKS, './tasks', ...list(env.O3_TASK_DIRS), ...(overrides.taskDirs ?? [])],
    strict: overrides.strict ?? env.O3_STRICT === '1',
    maxConcurrentTasks: integer(env.O3_MAX_CONCURRENT_TASKS, 'O3_MAX_CONCURRENT_TASKS', 1000, 1, 1_000_000),
    leaseMs: integer(env.O3_LEASE_MS, 'O3_LEASE_MS', 15_000, 1000, 3_600_000),
    nodeId: env.O3_NODE_ID ?? defaultNodeId(overrides.store ?? env.O3_STORE),
    logLevel: overrides.logLevel ?? env.O3_LOG_LEVEL ?? 'info',
    logDir: env.O3_LOG_DIR ?? null,
    bodyLimitBytes: integer(env.O3_BODY_LIMIT_BYTES, 'O3_BODY_LIMIT_BYTES', 1_048_576, 1024, 100 * 1_048_576),
    shutdownGraceMs: integer(env.O3_SHUTDOWN_GRACE_MS, 'O3_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    secretKey: env.O3_SECRET_KEY ?? null,
    secretKeyFile: env.O3_SECRET_KEY_FILE ?? './data/secret.key',
  };
  return Object.freeze(config);
}

/**
 * An embedded SQLite file has one node by nature, so its node keeps one name across restarts and
 * resumes its requests at once; on a shared store every process is a node of its own.
 */
function defaultNodeId(store: string | undefined): string {
  if (store === undefined || store.startsWith('sqlite:') || store.endsWith('.db')) return 'local';
  return `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(path.delimiter)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function integer(
  value: string | undefined,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new O3Error('bad_request', `${name} must be a whole number from ${min} to ${max}, not '${value}'`);
  }
  return parsed;
}
