/**
 * Secret masking (§9): every known secret value is replaced by `***` wherever it appears, also
 * inside a longer text such as a dumped header. Masking by value (not only by key) is what
 * catches a token that task code logged by accident.
 */
import { MASK } from '../task/secret-inputs.js';

/** Shortest value treated as a secret: masking one or two characters would shred every text. */
const MIN_SECRET_LENGTH = 4;

/** Masks the secret values it was given. */
export class Redactor {
  private readonly secrets = new Set<string>();
  private pattern: RegExp | null = null;

  /** Adds a secret value (strings; numbers are added as their text). */
  add(value: unknown): void {
    if (typeof value === 'number') value = String(value);
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH || this.secrets.has(value)) return;
    this.secrets.add(value);
    this.pattern = null;
  }

  /** True when there is nothing to mask. */
  get empty(): boolean {
    return this.secrets.size === 0;
  }

  /** The text with every secret replaced by `***`. */
  text(input: string): string {
    if (this.secrets.size === 0) return input;
    return input.replace(this.regExp(), MASK);
  }

  /** True when the text holds a secret. */
  holdsSecret(input: string): boolean {
    if (this.secrets.size === 0) return false;
    const pattern = this.regExp();
    pattern.lastIndex = 0;
    return pattern.test(input);
  }

  private regExp(): RegExp {
    this.pattern ??= new RegExp(
      [...this.secrets]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join('|'),
      'g',
    );
    return this.pattern;
  }

  /** A deep copy of a JSON value with every string masked. */
  value<T>(input: T): T {
    if (this.secrets.size === 0) return input;
    return maskDeep(input, (s) => this.text(s)) as T;
  }
}

function maskDeep(value: unknown, mask: (s: string) => string): unknown {
  if (typeof value === 'string') return mask(value);
  if (Array.isArray(value)) return value.map((item) => maskDeep(item, mask));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask)]));
  }
  return value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
