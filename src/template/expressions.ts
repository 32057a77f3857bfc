/**
 * Expressions (§3.1): `${workflow.input.NAME}` and `${TASK.output.NAME}`, each followed by an
 * optional path (`.a`, `[0]`, `["key"]`). `$${` writes a literal `${`. Values are parsed once
 * into a CompiledValue tree and evaluated many times, so parsing does all the checking and
 * evaluation only walks the tree.
 */
import { ExpressionError, type ErrorDetail } from '../errors.js';
import { jsonPointer } from './schema.js';

/** One step of a path: a property name or an array index. */
export type PathSegment = string | number;

/** A parsed expression: where its value comes from, and its source text (`${noop_01.output.rand_no}`). */
export type Reference =
  | { kind: 'workflow_input'; name: string; path: PathSegment[]; text: string }
  | { kind: 'task_output'; task: string; name: string; path: PathSegment[]; text: string };

/** A template value, parsed: literals, whole-value references, interpolated strings, containers. */
export type CompiledValue =
  | { kind: 'literal'; value: unknown }
  | { kind: 'reference'; ref: Reference }
  | { kind: 'interpolation'; parts: (string | Reference)[] }
  | { kind: 'object'; entries: [string, CompiledValue][] }
  | { kind: 'array'; items: CompiledValue[] };

/** Parses a template value; throws an ExpressionError (and nothing else) on a malformed expression. */
export function parseValue(value: unknown): CompiledValue {
  const result = parseValueDetailed(value, '');
  const first = result.problems[0];
  if (first !== undefined) throw first.error;
  return result.value;
}

/** One malformed expression found by parseValueDetailed, located by a JSON pointer. */
export interface ExpressionProblem extends ErrorDetail {
  error: ExpressionError;
}

/**
 * Parses a template value and collects every malformed expression instead of stopping at the
 * first, each located by `pointer` plus the path inside the value (the template compiler reports them all).
 */
export function parseValueDetailed(
  value: unknown,
  pointer: string,
): { value: CompiledValue; problems: ExpressionProblem[] } {
  const problems: ExpressionProblem[] = [];
  if (jsonDepth(value, MAX_VALUE_DEPTH) > MAX_VALUE_DEPTH) {
    // Walking such a value recursively would overflow the stack; no real input is this deep.
    const error = new ExpressionError(`the value is nested more than ${MAX_VALUE_DEPTH} levels deep`);
    problems.push({ path: pointer, message: error.message, error });
    return { value: { kind: 'literal', value: null }, problems };
  }
  const compiled = compileNode(value, pointer, problems);
  return { value: compiled, problems };
}

/** How deeply template and request values may nest; deeper ones are refused, not walked. */
export const MAX_VALUE_DEPTH = 200;

/** The nesting depth of a JSON value (a scalar is 0), without recursion; stops early past `limit`. */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [current, depth] = top;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    if (current !== null && typeof current === 'object') {
      for (const child of Object.values(current)) stack.push([child, depth + 1]);
    }
  }
  return deepest;
}

/** Every reference in a compiled value, in document order (repeats included). */
export function references(value: CompiledValue): Reference[] {
  const found: Reference[] = [];
  collectReferences(value, found);
  return found;
}

/** True when the value contains no expression at all. */
export function isLiteral(value: CompiledValue): value is { kind: 'literal'; value: unknown } {
  return value.kind === 'literal';
}

/**
 * Evaluates a compiled value. `lookup` gives the value of a reference's root (the input or
 * output NAME); the path is applied here. The result is a fresh copy: callers may mutate it.
 */
export function evaluate(value: CompiledValue, lookup: (ref: Reference) => unknown): unknown {
  switch (value.kind) {
    case 'literal':
      return cloneJson(value.value);
    case 'reference':
      return cloneJson(resolveReference(value.ref, lookup));
    case 'interpolation':
      return value.parts
        .map((part) => (typeof part === 'string' ? part : toText(resolveReference(part, lookup))))
        .join('');
    case 'object':
      // fromEntries defines own properties, so a key like `__proto__` stays data, not a prototype.
      return Object.fromEntries(value.entries.map(([key, item]) => [key, evaluate(item, lookup)]));
    case 'array':
      return value.items.map((item) => evaluate(item, lookup));
  }
}

/** Follows a reference's path into the value `lookup` gives for its root. */
export function resolveReference(ref: Reference, lookup: (ref: Reference) => unknown): unknown {
  let current = lookup(ref);
  if (current === undefined) throw new ExpressionError(`expression ${ref.text} has no value`);
  for (const segment of ref.path) {
    current = step(current, segment);
    if (current === undefined) {
      throw new ExpressionError(`expression ${ref.text}: the value has no ${describeSegment(segment)}`);
    }
  }
  return current;
}

/** Doubles every run of `$` before `{` (so `${` becomes `$${`): parsing the result gives back `text`. */
export function escapeText(text: string): string {
  // A function replacer: in a replacement string `$$` would itself mean one `$`.
  return text.replace(/(\$+)\{/g, (_match, run: string) => `${run}${run}{`);
}

/** A deep copy of a JSON value (anything that is not a plain object or array is kept as is). */
export function cloneJson<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => cloneJson(item)) as T;
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, cloneJson(item)])) as T;
  }
  return value;
}

/** One step of a path; undefined when it does not exist. Own properties only, never the prototype. */
function step(current: unknown, segment: PathSegment): unknown {
  if (Array.isArray(current)) {
    return typeof segment === 'number' && segment < current.length
      ? (current[segment] as unknown)
      : undefined;
  }
  if (isPlainObject(current)) {
    const key = String(segment);
    return Object.hasOwn(current, key) ? current[key] : undefined;
  }
  return undefined;
}

function describeSegment(segment: PathSegment): string {
  return typeof segment === 'number' ? `item [${segment}]` : `property '${segment}'`;
}

/** How a referenced value reads inside a longer string: text as is, everything else as JSON. */
function toText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function collectReferences(value: CompiledValue, found: Reference[]): void {
  switch (value.kind) {
    case 'literal':
      return;
    case 'reference':
      found.push(value.ref);
      return;
    case 'interpolation':
      for (const part of value.parts) if (typeof part !== 'string') found.push(part);
      return;
    case 'object':
      for (const [, item] of value.entries) collectReferences(item, found);
      return;
    case 'array':
      for (const item of value.items) collectReferences(item, found);
  }
}

/** Parses one node; a container whose children are all literal collapses into one literal. */
function compileNode(value: unknown, pointer: string, problems: ExpressionProblem[]): CompiledValue {
  if (typeof value === 'string') return compileString(value, pointer, problems);
  if (Array.isArray(value)) {
    const items = value.map((item: unknown, i) => compileNode(item, pointer + jsonPointer(i), problems));
    return items.every(isLiteral) ? { kind: 'literal', value } : { kind: 'array', items };
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value).map(([key, item]): [string, CompiledValue] => [
      key,
      compileNode(item, pointer + jsonPointer(key), problems),
    ]);
    return entries.every(([, item]) => isLiteral(item))
      ? { kind: 'literal', value }
      : { kind: 'object', entries };
  }
  return { kind: 'literal', value };
}

function compileString(text: string, pointer: string, problems: ExpressionProblem[]): CompiledValue {
  try {
    return compileParts(splitString(text));
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error;
    problems.push({ path: pointer, message: error.message, error });
    return { kind: 'literal', value: text };
  }
}

/** Exactly one expression keeps its JSON type; text alone is a literal; anything else interpolates. */
function compileParts(parts: (string | Reference)[]): CompiledValue {
  const [first] = parts;
  if (parts.length === 0) return { kind: 'literal', value: '' };
  if (parts.length === 1 && first !== undefined) {
    return typeof first === 'string' ? { kind: 'literal', value: first } : { kind: 'reference', ref: first };
  }
  return { kind: 'interpolation', parts };
}

/**
 * Splits a string into literal text and expressions; adjacent text is merged. In a run of `$`
 * right before `{`, each `$$` is one literal `$` and a lone last `$` opens an expression: so
 * `$${` is a literal `${` (§3.1) and `$$${x}` is a `$` followed by x. Runs before anything
 * else are plain text, so a password like `pa$$word` is left alone.
 */
function splitString(text: string): (string | Reference)[] {
  const parts: (string | Reference)[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      literal += text.slice(i);
      break;
    }
    literal += text.slice(i, dollar);
    let runEnd = dollar;
    while (text[runEnd] === '$') runEnd++;
    const run = runEnd - dollar;
    if (text[runEnd] !== '{') {
      literal += text.slice(dollar, runEnd);
      i = runEnd;
      continue;
    }
    literal += '$'.repeat(Math.floor(run / 2));
    if (run % 2 === 0) {
      literal += '{';
      i = runEnd + 1;
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    const { ref, end } = parseExpression(text, runEnd - 1);
    parts.push(ref);
    i = end;
  }
  if (literal !== '') parts.push(literal);
  return parts;
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_-]/;

/** A cursor over one `${…}`; every failure names the problem, the expression and the offset. */
class ExpressionScanner {
  pos: number;

  constructor(
    readonly text: string,
    readonly start: number,
  ) {
    this.pos = start + 2;
  }

  fail(problem: string, at = this.pos): never {
    const closing = this.text.indexOf('}', this.start);
    const source = closing === -1 ? this.text.slice(this.start) : this.text.slice(this.start, closing + 1);
    throw new ExpressionError(`bad expression ${clip(source)} at offset ${at}: ${problem}`, at);
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  skipSpaces(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  expect(char: string, after: string): void {
    if (this.peek() !== char) this.fail(`expected '${char}' after ${after}, found ${this.describeHere()}`);
    this.pos++;
  }

  name(what: string): string {
    const first = this.peek();
    if (first === undefined || !NAME_START.test(first)) {
      this.fail(`expected ${what} (a letter or '_' first), found ${this.describeHere()}`);
    }
    const begin = this.pos;
    while (this.peek() !== undefined && NAME_CHAR.test(this.peek() ?? '')) this.pos++;
    return this.text.slice(begin, this.pos);
  }

  describeHere(): string {
    const char = this.peek();
    return char === undefined ? 'the end of the text' : `'${char}'`;
  }
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Parses the expression starting at `start` (the `$` of `${`); returns it and the offset after `}`. */
function parseExpression(text: string, start: number): { ref: Reference; end: number } {
  const scanner = new ExpressionScanner(text, start);
  if (text.indexOf('}', start) === -1) {
    scanner.fail(`'\${' is never closed by '}' (write '$\${' for a literal '\${')`, start);
  }
  scanner.skipSpaces();
  if (scanner.peek() === '}')
    scanner.fail(`empty expression; expected workflow.input.NAME or TASK.output.NAME`);
  const rootAt = scanner.pos;
  const root = scanner.name('workflow or a task ref_name');
  scanner.expect('.', `'${root}'`);
  const kindAt = scanner.pos;
  const kind = scanner.name(`'input' or 'output'`);
  checkKind(scanner, root, kind, rootAt, kindAt);
  scanner.expect('.', `'${root}.${kind}'`);
  const name = scanner.name(kind === 'input' ? 'an input name' : 'an output name');
  const path = parsePath(scanner);
  scanner.skipSpaces();
  scanner.expect('}', 'the expression');
  const source = text.slice(start, scanner.pos);
  const ref: Reference =
    kind === 'input'
      ? { kind: 'workflow_input', name, path, text: source }
      : { kind: 'task_output', task: root, name, path, text: source };
  return { ref, end: scanner.pos };
}

/** Only `workflow.input` and `TASK.output` exist; say which one the author probably meant. */
function checkKind(
  scanner: ExpressionScanner,
  root: string,
  kind: string,
  rootAt: number,
  kindAt: number,
): void {
  if (root === 'workflow' && kind === 'input') return;
  if (root === 'workflow')
    scanner.fail(`'workflow' has only 'input' (workflow.input.NAME), not '${kind}'`, kindAt);
  if (kind === 'output') return;
  if (kind === 'input') {
    scanner.fail(`a task's inputs cannot be read; use workflow.input.NAME or ${root}.output.NAME`, rootAt);
  }
  scanner.fail(`expected workflow.input.NAME or TASK.output.NAME, found '${root}.${kind}'`, kindAt);
}

/** Parses `.name`, `[0]` and `["key"]` segments until something else comes. */
function parsePath(scanner: ExpressionScanner): PathSegment[] {
  const path: PathSegment[] = [];
  for (;;) {
    const char = scanner.peek();
    if (char === '.') {
      scanner.pos++;
      path.push(scanner.name('a property name'));
    } else if (char === '[') {
      scanner.pos++;
      path.push(parseBracket(scanner));
    } else {
      return path;
    }
  }
}

/** Inside `[…]`: a non-negative integer or a double-quoted JSON string. */
function parseBracket(scanner: ExpressionScanner): PathSegment {
  const { text } = scanner;
  const begin = scanner.pos;
  let segment: PathSegment;
  if (/[0-9]/.test(scanner.peek() ?? '')) {
    while (/[0-9]/.test(scanner.peek() ?? '')) scanner.pos++;
    const digits = text.slice(begin, scanner.pos);
    if (digits.length > 1 && digits.startsWith('0'))
      scanner.fail(`index ${digits} has a leading zero`, begin);
    segment = Number(digits);
    if (!Number.isSafeInteger(segment)) scanner.fail(`index ${digits} is too large`, begin);
  } else if (scanner.peek() === '"') {
    segment = parseQuotedKey(scanner);
  } else {
    scanner.fail(`expected an index like [0] or a key like ["name"], found ${scanner.describeHere()}`);
  }
  scanner.expect(']', `'[${text.slice(begin, scanner.pos)}'`);
  return segment;
}

/** A JSON string literal as a key, so any property name can be reached. */
function parseQuotedKey(scanner: ExpressionScanner): string {
  const { text } = scanner;
  const begin = scanner.pos;
  scanner.pos++;
  while (scanner.pos < text.length && text[scanner.pos] !== '"') {
    scanner.pos += text[scanner.pos] === '\\' ? 2 : 1;
  }
  if (scanner.pos >= text.length)
    scanner.fail(`the key starting at offset ${begin} is never closed by '"'`, begin);
  scanner.pos++;
  try {
    return JSON.parse(text.slice(begin, scanner.pos)) as string;
  } catch {
    return scanner.fail(`the key ${text.slice(begin, scanner.pos)} is not a valid JSON string`, begin);
  }
}
