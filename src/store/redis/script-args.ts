/**
 * Script arguments written straight in Redis's wire format. ioredis encodes a command by copying
 * its argument list twice and then appending to one string argument by argument: for a commit of
 * fifty requests, thousands of concatenations, each piece a string the collector copies and the
 * socket write then flattens. Here the record writers add each argument once, one join makes the
 * text, and the same text serves EVALSHA and, when Redis lost the script, EVAL.
 */
import { Command } from 'ioredis';

/** The header of every argument but the first, by length: made once, as most lengths recur. */
const HEADERS: string[] = [];
const CACHED_HEADERS = 4096;

function headerOf(length: number): string {
  if (length >= CACHED_HEADERS) return `\r\n$${length}\r\n`;
  return (HEADERS[length] ??= `\r\n$${length}\r\n`);
}

/** The arguments of one script call, as bulk strings. */
export class ScriptArgs {
  readonly #parts: string[] = [];
  #count = 0;
  #joined: string | undefined;

  /** Appends one argument: `$`, its length in bytes, CRLF, itself (and CRLF, which the next header or the end adds). */
  add(arg: string): void {
    const length = Buffer.byteLength(arg);
    this.#parts.push(this.#count === 0 ? `$${length}\r\n` : headerOf(length), arg);
    this.#count += 1;
  }

  /** Appends a count, then what `add` writes of each item: a list as the scripts' take_list reads it. */
  addCounted<T>(items: readonly T[], add: (out: ScriptArgs, item: T) => void): void {
    this.add(String(items.length));
    for (const item of items) add(this, item);
  }

  /** EVALSHA (by the script's SHA1) or EVAL (by its source) of a script with no keys and these arguments. */
  command(name: 'evalsha' | 'eval', script: string): Command {
    const head = `*${this.#count + 3}\r\n$${name.length}\r\n${name}\r\n$${Buffer.byteLength(script)}\r\n${script}\r\n$1\r\n0\r\n`;
    return new ScriptCommand(name, head + this.#text());
  }

  #text(): string {
    this.#joined ??= this.#count === 0 ? '' : `${this.#parts.join('')}\r\n`;
    return this.#joined;
  }
}

/** A command whose wire text is made already: ioredis writes it as it is. */
class ScriptCommand extends Command {
  readonly #text: string;

  constructor(name: string, text: string) {
    // Replies as strings, as ioredis's own evalsha gives them.
    super(name, [], { replyEncoding: 'utf8' });
    this.#text = text;
  }

  override toWritable(): string {
    return this.#text;
  }
}
