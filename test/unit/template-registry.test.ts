import { describe, expect, it } from 'vitest';
import { compileTemplate } from '../../src/template/compile-template.js';
import { TemplateRegistry } from '../../src/template/template-registry.js';
import type { CompiledTemplate } from '../../src/template/types.js';
import { lookupStub } from './support/stub-task-classes.js';

function compiled(refName: string, version: number, name = refName): CompiledTemplate {
  const doc = {
    name,
    ref_name: refName,
    schema_version: version,
    tasks: [{ name: 'a', ref_name: 'a', class: 'noop' }],
  };
  return compileTemplate(doc, { lookupClass: lookupStub });
}

describe('TemplateRegistry', () => {
  it('returns undefined for an unknown ref_name or version', () => {
    const registry = new TemplateRegistry();
    registry.add(compiled('a', 1));
    expect(registry.get('b')).toBeUndefined();
    expect(registry.get('a', 2)).toBeUndefined();
    expect(registry.versions('b')).toEqual([]);
  });

  it('keeps two schema_versions of one ref_name side by side and picks the highest by default', () => {
    const registry = new TemplateRegistry();
    registry.add(compiled('a', 2));
    registry.add(compiled('a', 10));
    registry.add(compiled('a', 1));
    expect(registry.get('a')?.version).toBe(10);
    expect(registry.get('a', 2)?.version).toBe(2);
    expect(registry.versions('a')).toEqual([1, 2, 10]);
    expect(registry.has('a', 1)).toBe(true);
  });

  it('replaces a template added again with the same ref_name and version', () => {
    const registry = new TemplateRegistry();
    registry.add(compiled('a', 1, 'first'));
    registry.add(compiled('a', 1, 'second'));
    expect(registry.get('a', 1)?.name).toBe('second');
    expect(registry.list()).toHaveLength(1);
  });

  it('lists templates sorted by ref_name, then version', () => {
    const registry = new TemplateRegistry();
    for (const [ref, version] of [
      ['b', 1],
      ['a', 2],
      ['b', 0 + 3],
      ['a', 1],
    ] as const)
      registry.add(compiled(ref, version));
    expect(registry.list().map((t) => `${t.refName}@${t.version}`)).toEqual(['a@1', 'a@2', 'b@1', 'b@3']);
  });
});
