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

/** A script call's head, up to its key count (0), for `count` arguments after it. */
function commandHead(name: string, count: number, script: string, scriptBytes: number): string {
  return `*${count + 3}\r\n$${name.length}\r\n${name}\r\n$${scriptBytes}\r\n${script}\r\n$1\r\n0`;
}

/** The arguments of one script call, as bulk strings. */
export class ScriptArgs {
  /** The arguments, in order. */
  readonly #args: string[] = [];

  /** Appends one argument. */
  add(arg: string): void {
    this.#args.push(arg);
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
    // Headers count UTF-16 units, which are the bytes when all the text is ASCII: what the engine
    // writes nearly always is (UUIDs, numbers, names, JSON of them). Measuring each argument's
    // UTF-8 length instead is a native call per argument; the bytes' length tells afterwards
    // whether the guess held, and only a text with other characters is encoded again, measured.
    const count = this.#args.length;
    const text = this.#wire(commandHead(name, count, script, script.length), (arg) => arg.length);
    const bytes = Buffer.from(text);
    if (bytes.length === text.length) return new ScriptCommand(name, bytes);
    const head = commandHead(name, count, script, Buffer.byteLength(script));
    return new ScriptCommand(name, Buffer.from(this.#wire(head, (arg) => Buffer.byteLength(arg))));
  }

  /** The command's text: the head (ending with the key count, 0), each argument's header and text, CRLF. */
  #wire(head: string, lengthOf: (arg: string) => number): string {
    const args = this.#args;
    const parts = new Array<string>(2 * args.length + 2);
    parts[0] = head;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      parts[2 * i + 1] = headerOf(lengthOf(arg));
      parts[2 * i + 2] = arg;
    }
    parts[parts.length - 1] = '\r\n';
    return parts.join('');
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
