import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TemplateError } from '../../src/errors.js';
import { loadTemplates } from '../../src/template/load-templates.js';
import { REPO_ROOT, lookupStub } from './support/stub-task-classes.js';

const NOOP_YAML = `
name: YAML noop
ref_name: yaml_noop
schema_version: 2
tasks:
  - name: only task
    ref_name: only
    class: noop
    input:
      runtime_delay: 1
`;

function jsonTemplate(refName: string, version = 1, className = 'noop'): string {
  return JSON.stringify({
    name: refName,
    ref_name: refName,
    schema_version: version,
    tasks: [{ name: 'a', ref_name: 'a', class: className }],
  });
}

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'o3-templates-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadTemplates', () => {
  it('loads the three article templates from the repository without problems', async () => {
    const { templates, problems } = await loadTemplates([path.join(REPO_ROOT, 'templates')], lookupStub);
    expect(problems).toEqual([]);
    expect(templates.map((t) => t.refName).sort()).toEqual([
      'awx_job_template_run',
      'noop_template_run',
      'tfe_virtual_machine_template',
    ]);
    expect(templates.every((t) => t.source?.endsWith('.json'))).toBe(true);
  });

  it('reads .json, .yaml and .yml files and ignores other files and subfolders', async () => {
    await writeFile(path.join(dir, 'a.json'), jsonTemplate('from_json'));
    await writeFile(path.join(dir, 'b.yaml'), NOOP_YAML);
    await writeFile(path.join(dir, 'c.yml'), NOOP_YAML.replace('yaml_noop', 'yml_noop'));
    await writeFile(path.join(dir, 'README.md'), '# not a template');
    await mkdir(path.join(dir, 'nested.json'));
    const { templates, problems } = await loadTemplates([dir], lookupStub);
    expect(problems).toEqual([]);
    expect(templates.map((t) => [t.refName, t.version])).toEqual([
      ['from_json', 1],
      ['yaml_noop', 2],
      ['yml_noop', 2],
    ]);
  });

  it('reports a JSON syntax error with the file, line and column', async () => {
    const file = path.join(dir, 'broken.json');
    await writeFile(file, '{\n  "name": "x",\n  oops\n}\n');
    const { templates, problems } = await loadTemplates([dir], lookupStub);
    expect(templates).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toBeInstanceOf(TemplateError);
    expect(problems[0]?.file).toBe(file);
    expect(problems[0]?.message).toMatch(
      new RegExp(`^${file.replaceAll('.', '\\.')}: line 3, column 3: not valid JSON`),
    );
  });

  it('reports an empty JSON file at its end', async () => {
    await writeFile(path.join(dir, 'empty.json'), '');
    const { problems } = await loadTemplates([dir], lookupStub);
    expect(problems[0]?.message).toMatch(/line 1, column 1: not valid JSON: Unexpected end of JSON input/);
  });

  it('reports a YAML syntax error with the file and line', async () => {
    const file = path.join(dir, 'broken.yaml');
    await writeFile(file, 'name: x\ntasks: [1, 2\nref_name: y\n');
    const { problems } = await loadTemplates([dir], lookupStub);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(/broken\.yaml: line 3, column 1: not valid YAML/);
  });

  it('reports a YAML file with a repeated key', async () => {
    await writeFile(path.join(dir, 'dup.yml'), 'name: x\nname: y\n');
    const { problems } = await loadTemplates([dir], lookupStub);
    expect(problems[0]?.message).toMatch(/line 2, column 1: not valid YAML: Map keys must be unique/);
  });

  it('reports an invalid template and still loads the valid ones', async () => {
    await writeFile(path.join(dir, 'good.json'), jsonTemplate('good'));
    await writeFile(path.join(dir, 'bad.json'), jsonTemplate('bad', 1, 'unknown_class'));
    const { templates, problems } = await loadTemplates([dir], lookupStub);
    expect(templates.map((t) => t.refName)).toEqual(['good']);
    expect(problems[0]?.details).toEqual([
      { path: '/tasks/0/class', message: "task class 'unknown_class' is not registered" },
    ]);
    expect(problems[0]?.message).toMatch(/bad\.json: template 'bad' is invalid/);
  });

  it('skips a folder that does not exist', async () => {
    const { templates, problems } = await loadTemplates([path.join(dir, 'missing')], lookupStub);
    expect(templates).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('reads a folder once even when it is named twice or through a symlink', async () => {
    await writeFile(path.join(dir, 'a.json'), jsonTemplate('once'));
    await symlink(dir, path.join(dir, '..', `${path.basename(dir)}-link`));
    try {
      const link = path.join(dir, '..', `${path.basename(dir)}-link`);
      const { templates, problems } = await loadTemplates([dir, `${dir}/`, link], lookupStub);
      expect(problems).toEqual([]);
      expect(templates.map((t) => t.refName)).toEqual(['once']);
    } finally {
      await rm(path.join(dir, '..', `${path.basename(dir)}-link`), { force: true });
    }
  });

  it('reports a second file with the same ref_name and schema_version', async () => {
    await writeFile(path.join(dir, 'a.json'), jsonTemplate('same', 1));
    await writeFile(path.join(dir, 'b.json'), jsonTemplate('same', 1));
    await writeFile(path.join(dir, 'c.json'), jsonTemplate('same', 2));
    const { templates, problems } = await loadTemplates([dir], lookupStub);
    expect(templates.map((t) => `${t.refName}@${t.version}`)).toEqual(['same@1', 'same@2']);
    expect(problems).toHaveLength(1);
    expect(problems[0]?.message).toMatch(
      /b\.json: template 'same' schema_version 1 is already defined in .*a\.json/,
    );
  });

  it('loads a single file named instead of a folder', async () => {
    const file = path.join(dir, 'one.yaml');
    await writeFile(file, NOOP_YAML);
    const { templates } = await loadTemplates([file], lookupStub);
    expect(templates.map((t) => t.source)).toEqual([file]);
  });
});
