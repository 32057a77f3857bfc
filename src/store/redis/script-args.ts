/**
 * Script arguments written straight in Redis's wire format. ioredis encodes a command by copying
 * its argument list twice and then appending to one string argument by argument: for a commit of
 * fifty requests, thousands of concatenations, each piece a string the collector copies and the
 * socket write then flattens. Here the record writers add each argument once, and one join makes
 * the command's text (EVALSHA's, or, when Redis lost the script, EVAL's), kept as bytes.
 */
import { Command } from 'ioredis';

/**
 * An argument's header by its length, made once as most lengths recur: the CRLF that ends what
 * came before it, `$`, the length in bytes, CRLF.
 */
const HEADERS: string[] = [];
const CACHED_HEADERS = 4096;

function headerOf(length: number): string {
  if (length >= CACHED_HEADERS) return `\r\n$${length}\r\n`;
  return (HEADERS[length] ??= `\r\n$${length}\r\n`);
}

/** The arguments of one script call, as bulk strings. */
export class ScriptArgs {
  /** The command's head (made by \`command\`), then each argument's header and text. */
  readonly #parts: string[] = [''];
  #count = 0;

  /** Appends one argument. */
  add(arg: string): void {
    this.#parts.push(headerOf(Buffer.byteLength(arg)), arg);
    this.#count += 1;
  }

  /** Appends a count, then what `add` writes of each item: a list as the scripts' take_list reads it. */
  addCounted<T>(items: readonly T[], add: (out: ScriptArgs, item: T) => void): void {
    this.add(String(items.length));
    for (const item of items) add(this, item);
  }

  /**
   * EVALSHA (by the script's SHA1) or EVAL (by its source) of a script with no keys and these
   * arguments: one flat string, joined with its head (a large text is not copied once more), then
   * encoded once.
   */
  command(name: 'evalsha' | 'eval', script: string): Command {
    const parts = this.#parts;
    // The head ends with the key count, 0; the next header or the final CRLF ends it.
    parts[0] = `*${this.#count + 3}\r\n$${name.length}\r\n${name}\r\n$${Buffer.byteLength(script)}\r\n${script}\r\n$1\r\n0`;
    parts.push('\r\n');
    const bytes = Buffer.from(parts.join(''));
    parts.pop();
    return new ScriptCommand(name, bytes);
  }
}

/**
 * A command whose wire bytes are made already: ioredis writes them as they are. Bytes, not text: the
 * command is kept until Redis answers (ioredis sends it again after a reconnect), and a buffer lies
 * outside the heap, where the collector neither copies nor promotes it meanwhile.
 */
class ScriptCommand extends Command {
  readonly #bytes: Buffer;

  constructor(name: string, bytes: Buffer) {
    // Replies as strings, as ioredis's own evalsha gives them.
    super(name, [], { replyEncoding: 'utf8' });
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}
