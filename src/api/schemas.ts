/**
 * The API's schemas (TypeBox → JSON Schema). Routes validate their params and query strings with
 * them, and the OpenAPI document at /openapi.json is generated from the same objects. Bodies that
 * O3 validates itself (to report every problem with its JSON pointer) are documented here too.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { RequestPayloadSchema } from '../request/payload.js';
import { ERROR_CODES } from '../errors.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Time = Nullable(Type.String({ format: 'date-time' }));
const open = { additionalProperties: true };

/** `{error: {code, message, details}}`. */
export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Union(Object.keys(ERROR_CODES).map((code) => Type.Literal(code))),
      message: Type.String(),
      details: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
    }),
  },
  { $id: 'ErrorBody', description: 'Every error answer' },
);

/** Error answers by status, for a route's `response`. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  return Object.fromEntries(statuses.map((status) => [status, Type.Ref('ErrorBody')]));
}

const Problem = Type.Object({ path: Type.String({ description: 'JSON pointer' }), message: Type.String() });
const RequestStatusSchema = Type.Union([
  Type.Literal('scheduled'),
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('canceling'),
  Type.Literal('successful'),
  Type.Literal('failed'),
  Type.Literal('canceled'),
]);

/** The request payload (§4), as documentation (O3 validates it itself). */
export const RequestPayloadDoc = Type.Unsafe({ ...RequestPayloadSchema, $id: 'RequestPayload' });

/** A request in a list. */
export const RequestSummarySchema = Type.Object(
  {
    uuid: Type.String({ format: 'uuid' }),
    ref: Type.String(),
    trace_id: Type.String(),
    name: Nullable(Type.String()),
    template: Type.Object({ ref_name: Type.String(), schema_version: Type.Integer() }),
    status: RequestStatusSchema,
    revision: Type.Integer(),
    scheduled_at: Time,
    created_at: Time,
    updated_at: Time,
    ended_at: Time,
    error: Nullable(Type.String()),
  },
  { $id: 'RequestSummary', ...open },
);

/** A task run in a request's detail. */
export const TaskRunSchema = Type.Object(
  {
    ref_name: Type.String(),
    name: Type.String(),
    class: Type.String(),
    uuid: Type.String(),
    state: Type.String(),
    last_task_state: Type.String(),
    attempt: Type.Integer(),
    optional: Type.Boolean(),
    always_run: Type.Boolean(),
    depends_on: Type.Array(Type.String()),
    started_at: Time,
    ended_at: Time,
    duration_ms: Nullable(Type.Number()),
    inputs: Nullable(
      Type.Record(Type.String(), Type.Unknown(), { description: 'Resolved inputs, secrets as ***' }),
    ),
    outputs: Type.Record(Type.String(), Type.Unknown(), { description: 'Public state attributes' }),
    error: Nullable(Type.String()),
  },
  { $id: 'TaskRun', ...open },
);

/** A log line. */
export const LogLineSchema = Type.Object(
  {
    seq: Type.Integer(),
    ts: Time,
    level: Type.String(),
    source: Type.String(),
    task: Nullable(Type.String()),
    task_uuid: Nullable(Type.String()),
    message: Type.String(),
  },
  { $id: 'LogLine', ...open },
);

/** The schemas registered with `addSchema`, so routes can `$ref` them. */
export const SHARED_SCHEMAS = [
  ErrorBodySchema,
  RequestPayloadDoc,
  RequestSummarySchema,
  TaskRunSchema,
  LogLineSchema,
];

/** `{uuid}` path parameter. */
export const UuidParams = Type.Object({ uuid: Type.String({ description: 'The request UUID' }) });

/** Query of the request list. */
export const ListQuery = Type.Object({
  status: Type.Optional(RequestStatusSchema),
  template: Type.Optional(Type.String()),
  ref: Type.Optional(Type.String()),
  trace_id: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String()),
});

/** Query of the log route. */
export const LogQuery = Type.Object({
  task: Type.Optional(Type.String({ description: 'One task of the current revision, by ref_name' })),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'Only lines after this seq' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  follow: Type.Optional(
    Type.String({ description: '1: stream as server-sent events until the request ends' }),
  ),
});

/** Answer of submit. */
export const SubmitAnswer = Type.Object({
  uuid: Type.String(),
  ref: Type.String(),
  trace_id: Type.String(),
  revision: Type.Integer(),
  status: RequestStatusSchema,
  created: Type.Boolean(),
  warnings: Type.Array(Problem),
});

/** Answer of validate. */
export const ValidateAnswer = Type.Object({
  valid: Type.Boolean(),
  warnings: Type.Array(Problem),
  errors: Type.Optional(Type.Array(Problem)),
  plan: Type.Optional(Type.Unknown()),
});

/** Body of revise. */
export const ReviseBody = Type.Object(
  {
    vars: Type.Optional(Type.Unknown({ description: 'Replaces workflow.vars' })),
    tasks: Type.Optional(Type.Unknown({ description: 'Replaces tasks' })),
    schedule: Type.Optional(Type.Unknown({ description: 'The new schedule (default: now)' })),
  },
  { additionalProperties: false },
);

/** Answer of cancel, retry and revise. */
export const RevisionAnswer = Type.Object({
  uuid: Type.String(),
  status: RequestStatusSchema,
  revision: Type.Optional(Type.Integer()),
  warnings: Type.Optional(Type.Array(Problem)),
});

/** No validation by Fastify: O3 validates this body itself, to report every problem with its pointer. */
export const ownValidation = { validatorCompiler: () => () => true };
