/**
 * The template document schema (§2) and the helpers that turn TypeBox's schema errors into
 * `{path, message}` details a person can act on. The request payload schema reuses the helpers.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import type { ErrorDetail } from '../errors.js';

/** What task ref_names, template ref_names and expression names look like. */
export const IDENTIFIER_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';

/** True when `name` is a valid identifier (task or template ref_name, variable name). */
export function isIdentifier(name: string): boolean {
  return IDENTIFIER_RE.test(name);
}

const IDENTIFIER_RE = new RegExp(IDENTIFIER_PATTERN);

/** A ref_name: letters, digits, `_` and `-`, not starting with a digit or `-`. */
export const IdentifierSchema = Type.String({ pattern: IDENTIFIER_PATTERN });

/** The optional retry policy of a task (§2 extensions). */
export const RetrySchema = Type.Object(
  {
    max_attempts: Type.Optional(Type.Integer({ minimum: 1 })),
    delay_seconds: Type.Optional(Type.Number({ minimum: 0 })),
    backoff: Type.Optional(Type.Number({ minimum: 1 })),
  },
  { additionalProperties: false },
);

/** One task of a template. */
export const TemplateTaskSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    ref_name: IdentifierSchema,
    description: Type.Optional(Type.String()),
    class: Type.String({ minLength: 1 }),
    input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    always_run: Type.Optional(Type.Boolean()),
    depends_on: Type.Optional(Type.Array(Type.String())),
    optional: Type.Optional(Type.Boolean()),
    timeout_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    ping_interval_seconds: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    retry: Type.Optional(RetrySchema),
  },
  // Strict, so a typo such as `depend_on` is an error instead of a silently missing dependency.
  { additionalProperties: false },
);

/** A whole template document (JSON or YAML). */
export const TemplateSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    ref_name: IdentifierSchema,
    description: Type.Optional(Type.String()),
    schema_version: Type.Integer({ minimum: 1 }),
    workflow: Type.Optional(
      Type.Object(
        {
          input: Type.Optional(
            Type.Object(
              { global: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
              { additionalProperties: false },
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    tasks: Type.Array(TemplateTaskSchema, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const templateCheck = TypeCompiler.Compile(TemplateSchema);

/** Every way `doc` departs from the template schema, one detail per JSON pointer. */
export function templateSchemaErrors(doc: unknown): ErrorDetail[] {
  return schemaErrors(templateCheck, doc);
}

/** Every error of a compiled TypeBox check as plain sentences, keeping the first per path. */
export function schemaErrors<T extends TSchema>(check: TypeCheck<T>, value: unknown): ErrorDetail[] {
  // The compiled check is fast; walking for errors is not, and valid documents are the common case.
  if (check.Check(value)) return [];
  const byPath = new Map<string, ErrorDetail>();
  for (const error of check.Errors(value)) {
    // TypeBox reports a missing property twice (required, then its type); the first says it best.
    if (!byPath.has(error.path)) byPath.set(error.path, { path: error.path, message: describeError(error) });
  }
  return [...byPath.values()];
}

/** Joins segments into a JSON pointer (RFC 6901), escaping `~` and `/`. */
export function jsonPointer(...segments: (string | number)[]): string {
  return segments.map((s) => '/' + String(s).replaceAll('~', '~0').replaceAll('/', '~1')).join('');
}

/** The last segment of a JSON pointer, unescaped. */
function lastSegment(path: string): string {
  const raw = path.slice(path.lastIndexOf('/') + 1);
  return raw.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** A plain sentence for one TypeBox error. */
function describeError(error: ValueError): string {
  const field = error.path === '' ? 'the document' : `'${lastSegment(error.path)}'`;
  const schema = error.schema as Record<string, unknown>;
  switch (error.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return `${field} is required`;
    case ValueErrorType.ObjectAdditionalProperties:
      return unknownFieldMessage(lastSegment(error.path), schema);
    case ValueErrorType.StringPattern:
      return schema.pattern === IDENTIFIER_PATTERN
        ? `${field} must be a name made of letters, digits, '_' and '-', starting with a letter or '_'`
        : `${field} must match ${String(schema.pattern)}`;
    case ValueErrorType.StringMinLength:
      return `${field} must not be empty`;
    case ValueErrorType.ArrayMinItems:
      return `${field} must have at least ${String(schema.minItems)} item(s)`;
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return `${field} must be at least ${String(schema.minimum)}`;
    case ValueErrorType.NumberExclusiveMinimum:
    case ValueErrorType.IntegerExclusiveMinimum:
      return `${field} must be greater than ${String(schema.exclusiveMinimum)}`;
    case ValueErrorType.Literal:
      return `${field} must be ${JSON.stringify(schema.const)}`;
    case ValueErrorType.Union:
      return unionMessage(field, schema);
    default:
      return typeMessage(field, error);
  }
}

/** "must be a string" and friends, from the schema's declared type. */
function typeMessage(field: string, error: ValueError): string {
  const type = (error.schema as { type?: unknown }).type;
  const names: Record<string, string> = {
    string: 'a string',
    number: 'a number',
    integer: 'an integer',
    boolean: 'true or false',
    object: 'an object',
    array: 'an array',
  };
  if (typeof type === 'string' && names[type] !== undefined) return `${field} must be ${names[type]}`;
  return `${field} is not valid: ${error.message}`;
}

/** For unions of literals (e.g. `when`), names the allowed values. */
function unionMessage(field: string, schema: Record<string, unknown>): string {
  const options = Array.isArray(schema.anyOf) ? (schema.anyOf as Record<string, unknown>[]) : [];
  const consts = options.filter((o) => 'const' in o).map((o) => JSON.stringify(o.const));
  if (consts.length === options.length && consts.length > 0)
    return `${field} must be one of ${consts.join(', ')}`;
  return `${field} is not valid`;
}

/** "unknown field 'depend_on' (did you mean 'depends_on'?)". */
function unknownFieldMessage(name: string, objectSchema: Record<string, unknown>): string {
  const known = Object.keys((objectSchema.properties as Record<string, unknown> | undefined) ?? {});
  const guess = closest(name, known);
  return guess === undefined
    ? `unknown field '${name}'`
    : `unknown field '${name}' (did you mean '${guess}'?)`;
}

/** The known name within edit distance 2 of `name`, if any: typos are what strict schemas catch. */
function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance, for the "did you mean" hint only. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
