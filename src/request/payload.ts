/**
 * The request payload (§4, schema_version 2): exactly the article's shape
 * (examples/noop_request.json). Structural levels are strict so a misspelt key is reported;
 * the `input` maps are free, since their keys are the caller's variable names.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { ErrorDetail } from '../errors.js';
import { schemaErrors } from '../template/schema.js';

/** Variables by name; any JSON value goes. */
export const InputMapSchema = Type.Record(Type.String(), Type.Unknown());

/** `{input: {...}}`, the wrapper the article puts around every variable map. */
export const VarsSchema = Type.Object(
  { input: Type.Optional(InputMapSchema) },
  { additionalProperties: false },
);

/** `workflow.meta`: the caller's reference, the template, and free text. */
export const MetaSchema = Type.Object(
  {
    ref: Type.String({ minLength: 1 }),
    template: Type.String({ minLength: 1 }),
    trace_id: Type.Optional(Type.String()),
    name: Type.Optional(Type.String()),
    description: Type.Optional(Type.String()),
    template_schema_version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** `workflow.schedule`: absent, empty or `when: "now"` runs at once; `when: "at"` needs `start`. */
export const ScheduleSchema = Type.Object(
  {
    when: Type.Optional(Type.Union([Type.Literal('now'), Type.Literal('at')])),
    start: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/** `tasks.T`: `{vars: {input: {...}}}`, the variables meant for one task. */
export const TaskVarsSchema = Type.Object(
  { vars: Type.Optional(VarsSchema) },
  { additionalProperties: false },
);

/** The whole request payload. */
export const RequestPayloadSchema = Type.Object(
  {
    workflow: Type.Object(
      {
        meta: MetaSchema,
        vars: Type.Optional(
          Type.Object(
            { global: Type.Optional(VarsSchema), workflow: Type.Optional(VarsSchema) },
            { additionalProperties: false },
          ),
        ),
        schedule: Type.Optional(ScheduleSchema),
      },
      { additionalProperties: false },
    ),
    tasks: Type.Optional(Type.Record(Type.String(), TaskVarsSchema)),
    schema_version: Type.Optional(Type.Literal(2)),
  },
  { additionalProperties: false },
);

/** A request payload that passed the schema. */
export type RequestPayload = Static<typeof RequestPayloadSchema>;

const payloadCheck = TypeCompiler.Compile(RequestPayloadSchema);

/** True when `body` matches the payload schema. */
export function isRequestPayload(body: unknown): body is RequestPayload {
  return payloadCheck.Check(body);
}

/** Every way `body` departs from the payload schema, one detail per JSON pointer. */
export function payloadSchemaErrors(body: unknown): ErrorDetail[] {
  return schemaErrors(payloadCheck, body);
}
