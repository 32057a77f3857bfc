/** TemplateRegistry: the compiled templates by ref_name and schema_version (§2). */
import type { CompiledTemplate } from './types.js';

/** Holds every registered template; two schema_versions of one ref_name live side by side. */
export class TemplateRegistry {
  readonly #byRef = new Map<string, Map<number, CompiledTemplate>>();

  /** Registers a template; the same ref_name and schema_version again replaces the earlier one. */
  add(template: CompiledTemplate): void {
    let versions = this.#byRef.get(template.refName);
    if (versions === undefined) {
      versions = new Map();
      this.#byRef.set(template.refName, versions);
    }
    versions.set(template.version, template);
  }

  /** One template: the given version, else the highest registered one. */
  get(ref: string, version?: number): CompiledTemplate | undefined {
    const versions = this.#byRef.get(ref);
    if (versions === undefined) return undefined;
    if (version !== undefined) return versions.get(version);
    const highest = Math.max(...versions.keys());
    return versions.get(highest);
  }

  /** True when a template of that ref_name (and version, when given) is registered. */
  has(ref: string, version?: number): boolean {
    return this.get(ref, version) !== undefined;
  }

  /** The registered schema_versions of a ref_name, ascending (empty when unknown). */
  versions(ref: string): number[] {
    return [...(this.#byRef.get(ref)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** Every template, sorted by ref_name, then schema_version. */
  list(): CompiledTemplate[] {
    const refs = [...this.#byRef.keys()].sort();
    return refs.flatMap((ref) =>
      this.versions(ref).map((v) => this.#byRef.get(ref)?.get(v) as CompiledTemplate),
    );
  }
}
