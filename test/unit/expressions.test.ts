import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExpressionError } from '../../src/errors.js';
import {
  MAX_VALUE_DEPTH,
  escapeText,
  evaluate,
  parseValue,
  parseValueDetailed,
  references,
  type PathSegment,
  type Reference,
} from '../../src/template/expressions.js';

/** A lookup over request variables and task outputs given as plain objects. */
function lookupFrom(inputs: Record<string, unknown>, outputs: Record<string, Record<string, unknown>> = {}) {
  return (ref: Reference): unknown =>
    ref.kind === 'workflow_input' ? inputs[ref.name] : outputs[ref.task]?.[ref.name];
}

function expectExpressionError(text: unknown, pattern: RegExp, offset?: number): void {
  let thrown: unknown;
  try {
    parseValue(text);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(ExpressionError);
  expect((thrown as ExpressionError).message).toMatch(pattern);
  if (offset !== undefined) expect((thrown as ExpressionError).offset).toBe(offset);
}

describe('parseValue', () => {
  it('parses a whole-value workflow input as a reference with its source text', () => {
    expect(parseValue('${workflow.input.delay}')).toEqual({
      kind: 'reference',
      ref: { kind: 'workflow_input', name: 'delay', path: [], text: '${workflow.input.delay}' },
    });
  });

  it('parses a task output reference with a task ref_name containing digits and underscores', () => {
    expect(parseValue('${noop_01.output.rand_no}')).toEqual({
      kind: 'reference',
      ref: {
        kind: 'task_output',
        task: 'noop_01',
        name: 'rand_no',
        path: [],
        text: '${noop_01.output.rand_no}',
      },
    });
  });

  it('parses dotted, indexed and quoted path segments', () => {
    const parsed = parseValue('${workspace_id_task.output.data.items[0]["odd key.]"].id}');
    expect(parsed.kind === 'reference' && parsed.ref.name).toBe('data');
    expect(parsed.kind === 'reference' && parsed.ref.path).toEqual(['items', 0, 'odd key.]', 'id']);
  });

  it('accepts spaces just inside the braces', () => {
    const parsed = parseValue('${ workflow.input.delay }');
    expect(parsed.kind === 'reference' && parsed.ref.name).toBe('delay');
  });

  it('turns an expression inside a longer string into an interpolation', () => {
    expect(parseValue('job-${workflow.input.id}-${a.output.b}!')).toEqual({
      kind: 'interpolation',
      parts: [
        'job-',
        { kind: 'workflow_input', name: 'id', path: [], text: '${workflow.input.id}' },
        '-',
        { kind: 'task_output', task: 'a', name: 'b', path: [], text: '${a.output.b}' },
        '!',
      ],
    });
  });

  it('reads $${ as a literal ${ and keeps the string literal', () => {
    expect(parseValue('cost: $${workflow.input.x} and $5')).toEqual({
      kind: 'literal',
      value: 'cost: ${workflow.input.x} and $5',
    });
  });

  it('reads $$ before ${ as one literal $, so a $ can precede an expression', () => {
    const parsed = parseValue('price: $$${workflow.input.amount}');
    expect(evaluate(parsed, () => 5)).toBe('price: $5');
    expect(parseValue('$$$${x')).toEqual({ kind: 'literal', value: '$${x' });
  });

  it('leaves runs of $ that are not before { alone', () => {
    expect(parseValue('pa$$word $$ $')).toEqual({ kind: 'literal', value: 'pa$$word $$ $' });
  });

  it('collapses an object or array without expressions into one literal', () => {
    const value = { a: 1, b: [true, null, 'text'], c: { d: 'x' } };
    expect(parseValue(value)).toEqual({ kind: 'literal', value });
  });

  it('walks objects and arrays that contain expressions', () => {
    const parsed = parseValue({ fixed: { n: 1 }, list: ['${workflow.input.a}', 2] });
    expect(parsed.kind).toBe('object');
    expect(evaluate(parsed, lookupFrom({ a: 'A' }))).toEqual({ fixed: { n: 1 }, list: ['A', 2] });
  });

  it('keeps numbers, booleans and null as literals', () => {
    for (const value of [60, true, null, 0.5]) expect(parseValue(value)).toEqual({ kind: 'literal', value });
  });

  it('rejects an unterminated ${ naming its offset', () => {
    expectExpressionError('abc ${workflow.input.x', /never closed/, 4);
  });

  it('rejects an empty ${}', () => {
    expectExpressionError('${}', /empty expression/);
    expectExpressionError('${  }', /empty expression/);
  });

  it('rejects a root that is neither workflow.input nor TASK.output', () => {
    expectExpressionError('${foo}', /expected '\.' after 'foo'/, 5);
    expectExpressionError('${foo.bar.baz}', /expected workflow\.input\.NAME or TASK\.output\.NAME/, 6);
    expectExpressionError('${workflow.output.x}', /'workflow' has only 'input'/);
    expectExpressionError('${noop_01.input.x}', /a task's inputs cannot be read/);
  });

  it('rejects bad identifiers', () => {
    expectExpressionError('${workflow.input.}', /expected an input name/, 17);
    expectExpressionError('${workflow.input.1abc}', /expected an input name/);
    expectExpressionError('${1task.output.x}', /expected workflow or a task ref_name/);
    expectExpressionError('${workflow.input.a b}', /expected '}'/);
  });

  it('rejects malformed path segments', () => {
    expectExpressionError('${workflow.input.a[01]}', /leading zero/);
    expectExpressionError('${workflow.input.a[x]}', /expected an index/);
    expectExpressionError('${workflow.input.a[0}', /expected '\]'/);
    expectExpressionError('${workflow.input.a["k}', /expected|never closed/);
    expectExpressionError('${workflow.input.a.}', /expected a property name/);
  });

  it('reports the offset inside nested values and the message names the expression', () => {
    expectExpressionError({ a: ['ok', 'x ${nope}'] }, /bad expression \$\{nope\}/, 8);
  });

  it('refuses values nested deeper than the limit instead of overflowing the stack', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < MAX_VALUE_DEPTH + 5; i++) deep = [deep];
    expectExpressionError(deep, /nested more than/);
  });
});

describe('parseValueDetailed', () => {
  it('collects every malformed expression with its JSON pointer', () => {
    const { problems } = parseValueDetailed(
      { a: '${}', b: ['${x.y.z}'], 'c/d': '${workflow.input.ok}' },
      '/input',
    );
    expect(problems.map((p) => p.path)).toEqual(['/input/a', '/input/b/0']);
    expect(problems.every((p) => p.error instanceof ExpressionError)).toBe(true);
  });
});

describe('references', () => {
  it('lists every reference in document order, repeats included', () => {
    const parsed = parseValue({ x: '${a.output.b}', y: ['${workflow.input.v} ${a.output.b}'] });
    expect(references(parsed).map((r) => r.text)).toEqual([
      '${a.output.b}',
      '${workflow.input.v}',
      '${a.output.b}',
    ]);
  });

  it('finds none in a literal', () => {
    expect(references(parseValue({ a: [1, 'two'] }))).toEqual([]);
  });
});

describe('evaluate', () => {
  it('keeps the JSON type of a whole-value reference', () => {
    const inputs = { n: 60, o: { k: [1] }, z: null, b: false, a: [1, 'x'] };
    for (const [name, value] of Object.entries(inputs)) {
      expect(evaluate(parseValue(`\${workflow.input.${name}}`), lookupFrom(inputs))).toEqual(value);
    }
  });

  it('interpolates objects as JSON, null as null and numbers as text', () => {
    const parsed = parseValue(
      '${workflow.input.o}|${workflow.input.z}|${workflow.input.n}|${workflow.input.s}',
    );
    expect(evaluate(parsed, lookupFrom({ o: { a: [1] }, z: null, n: 2.5, s: 'txt' }))).toBe(
      '{"a":[1]}|null|2.5|txt',
    );
  });

  it('applies a path to the looked-up value', () => {
    const parsed = parseValue('${t.output.res.items[1]["a-b"]}');
    expect(evaluate(parsed, lookupFrom({}, { t: { res: { items: [{}, { 'a-b': 7 }] } } }))).toBe(7);
  });

  it('fails with an ExpressionError naming the expression when the path does not exist', () => {
    const parsed = parseValue('${t.output.res.missing}');
    expect(() => evaluate(parsed, lookupFrom({}, { t: { res: {} } }))).toThrow(
      /expression \$\{t\.output\.res\.missing\}.*'missing'/,
    );
    expect(() => evaluate(parseValue('${t.output.res[3]}'), lookupFrom({}, { t: { res: [1] } }))).toThrow(
      ExpressionError,
    );
  });

  it('does not follow inherited properties such as constructor or __proto__', () => {
    expect(() => evaluate(parseValue('${workflow.input.o.constructor}'), lookupFrom({ o: {} }))).toThrow(
      ExpressionError,
    );
    expect(() => evaluate(parseValue('${workflow.input.o.__proto__}'), lookupFrom({ o: {} }))).toThrow(
      ExpressionError,
    );
  });

  it('fails when the lookup has no value for the root', () => {
    expect(() => evaluate(parseValue('${workflow.input.none}'), lookupFrom({}))).toThrow(/has no value/);
  });

  it('returns a fresh copy, so mutating a result leaves the template and the lookup untouched', () => {
    const literal = Object.freeze({ a: Object.freeze([1]) });
    const fromLiteral = evaluate(parseValue(literal), lookupFrom({})) as { a: number[] };
    fromLiteral.a.push(2);
    const source = { o: { k: 1 } };
    const fromRef = evaluate(parseValue('${workflow.input.o}'), lookupFrom(source)) as { k: number };
    fromRef.k = 2;
    expect(literal.a).toEqual([1]);
    expect(source.o.k).toBe(1);
  });
});

describe('expressions (properties)', () => {
  const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,8}$/);

  it('parseValue never throws anything but ExpressionError on arbitrary strings', () => {
    const tricky = fc.string({
      unit: fc.constantFrom('$', '{', '}', '.', '[', ']', '"', 'a', '0', ' ', '\\'),
    });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          tricky,
          tricky.map((s) => '${' + s),
        ),
        (text) => {
          try {
            parseValue(text);
          } catch (error) {
            expect(error).toBeInstanceOf(ExpressionError);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('parseValue never throws anything but ExpressionError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseValue(value);
        } catch (error) {
          expect(error).toBeInstanceOf(ExpressionError);
        }
      }),
    );
  });

  it('text escaped with $${ evaluates back to the literal text', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('$', '{', '}', 'x', '$$', '${') }),
        fc.string(),
        (a, b) => {
          for (const text of [a, b, a + b]) {
            expect(evaluate(parseValue(escapeText(text)), () => undefined)).toBe(text);
          }
        },
      ),
    );
  });

  it('a whole-value reference keeps the type and content of what it resolves to', () => {
    fc.assert(
      fc.property(identifier, fc.jsonValue(), (name, value) => {
        const parsed = parseValue(`\${workflow.input.${name}}`);
        expect(evaluate(parsed, () => value)).toEqual(value);
      }),
    );
  });

  it('a path written in the expression reaches the same value as walking the object', () => {
    const segment: fc.Arbitrary<PathSegment> = fc.oneof(identifier, fc.nat(5), fc.string());
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), fc.jsonValue(), (path, leaf) => {
        let value: unknown = leaf;
        for (const s of [...path].reverse()) {
          value =
            typeof s === 'number' ? [...Array.from({ length: s }, (): unknown => 0), value] : { [s]: value };
        }
        const written = path
          .map((s) =>
            typeof s === 'number'
              ? `[${s}]`
              : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)
                ? `.${s}`
                : `[${JSON.stringify(s)}]`,
          )
          .join('');
        const parsed = parseValue(`\${task_a.output.out${written}}`);
        expect(parsed.kind === 'reference' && parsed.ref.path).toEqual(path);
        expect(evaluate(parsed, () => value)).toEqual(leaf);
      }),
    );
  });

  it('interpolating a string between escaped texts concatenates them', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (before, after, inserted) => {
        // A `$` right before `${` would join its run; escapeText cannot know what follows the text.
        fc.pre(!before.endsWith('$'));
        const parsed = parseValue(`${escapeText(before)}\${workflow.input.v}${escapeText(after)}`);
        expect(evaluate(parsed, () => inserted)).toBe(before + inserted + after);
      }),
    );
  });
});
