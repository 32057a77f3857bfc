/**
 * loadTemplates: reads every template file of the template folders and compiles it. A bad file
 * is reported as a problem and skipped, so one broken template never keeps the server from starting.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { TemplateError, errorMessage } from '../errors.js';
import type { TaskClassLookup } from '../task/meta.js';
import { compileTemplate } from './compile-template.js';
import type { CompiledTemplate } from './types.js';

/** The file endings read as templates; everything else in a template folder is ignored. */
export const TEMPLATE_EXTENSIONS: readonly string[] = ['.json', '.yaml', '.yml'];

/** What loadTemplates found: the valid templates, and one TemplateError per file that is not. */
export interface LoadedTemplates {
  templates: CompiledTemplate[];
  problems: TemplateError[];
}

/** Loads and compiles the templates of `dirs` (not recursive); never throws for a bad file. */
export async function loadTemplates(dirs: string[], lookupClass: TaskClassLookup): Promise<LoadedTemplates> {
  const templates: CompiledTemplate[] = [];
  const problems: TemplateError[] = [];
  const seenFrom = new Map<string, string>();
  for (const file of await listTemplateFiles(dirs, problems)) {
    try {
      const template = compileTemplate(await parseTemplateFile(file), { lookupClass, source: file });
      const key = `${template.refName}@${template.version}`;
      const earlier = seenFrom.get(key);
      if (earlier !== undefined) throw duplicateError(file, template, earlier);
      seenFrom.set(key, file);
      templates.push(template);
    } catch (error) {
      problems.push(asTemplateError(error, file));
    }
  }
  return { templates, problems };
}

/** Reads and parses one template file (JSON or YAML); a syntax error is a TemplateError naming the line. */
export async function parseTemplateFile(file: string): Promise<unknown> {
  const format = path.extname(file).toLowerCase() === '.json' ? 'json' : 'yaml';
  return parseTemplateText(await readFile(file, 'utf8'), format, file);
}

/** Parses template text (e.g. a body posted to the API); `label` names it in the TemplateError. */
export function parseTemplateText(text: string, format: 'json' | 'yaml', label: string): unknown {
  return format === 'json' ? parseJson(text, label) : parseYaml(text, label);
}

/**
 * The template files of `dirs` in a stable order; a folder is read once however it is named, and
 * a path naming a single file loads that file. An unreadable folder is a problem, not a crash.
 */
async function listTemplateFiles(dirs: string[], problems: TemplateError[]): Promise<string[]> {
  const seenDirs = new Set<string>();
  const files: string[] = [];
  for (const dir of dirs) {
    const real = await realpath(dir).catch(() => undefined);
    // A folder that does not exist (an optional O3_TEMPLATE_DIRS entry) is simply skipped.
    if (real === undefined || seenDirs.has(real)) continue;
    seenDirs.add(real);
    try {
      files.push(...(await filesOf(dir, real)));
    } catch (error) {
      problems.push(asTemplateError(error, dir));
    }
  }
  return files;
}

async function filesOf(dir: string, real: string): Promise<string[]> {
  if ((await stat(real)).isFile()) return isTemplateFile(real) ? [dir] : [];
  const entries = await readdir(real, { withFileTypes: true });
  const names = entries.filter((e) => !e.isDirectory() && isTemplateFile(e.name)).map((e) => e.name);
  return names.sort().map((name) => path.join(dir, name));
}

function isTemplateFile(name: string): boolean {
  return (
    TEMPLATE_EXTENSIONS.includes(path.extname(name).toLowerCase()) && !path.basename(name).startsWith('.')
  );
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const message = errorMessage(error);
    const position = /at position (\d+)/.exec(message)?.[1];
    const { line, column } = lineAndColumn(text, position === undefined ? text.length : Number(position));
    const reason = message
      .replace(/\s*(in JSON )?at position \d+.*$/s, '')
      .replace(/\s*\(line \d+ column \d+\)/, '');
    throw syntaxError(file, line, column, `not valid JSON: ${reason}`);
  }
}

function parseYaml(text: string, file: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = document.errors[0];
  if (first !== undefined) {
    const [position] = first.linePos ?? [];
    const reason = first.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? first.message;
    throw syntaxError(file, position?.line ?? 1, position?.col ?? 1, `not valid YAML: ${reason}`);
  }
  try {
    return document.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw syntaxError(file, 1, 1, `not valid YAML: ${errorMessage(error)}`);
  }
}

/** 1-based line and column of a character offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function syntaxError(file: string, line: number, column: number, reason: string): TemplateError {
  const message = `line ${line}, column ${column}: ${reason}`;
  return new TemplateError(`${file}: ${message}`, [{ path: '', message }], file);
}

function duplicateError(file: string, template: CompiledTemplate, earlier: string): TemplateError {
  const message = `template '${template.refName}' schema_version ${template.version} is already defined in ${earlier}`;
  return new TemplateError(`${file}: ${message}`, [{ path: '/schema_version', message }], file);
}

/** Any failure for one file becomes a TemplateError naming the file (unreadable, bad syntax, invalid). */
function asTemplateError(error: unknown, file: string): TemplateError {
  if (error instanceof TemplateError) return error;
  const reason = errorMessage(error);
  return new TemplateError(
    `${file}: cannot be loaded: ${reason}`,
    [{ path: '', message: `cannot be loaded: ${reason}` }],
    file,
  );
}
