/**
 * A server-sent events parser (the WHATWG `text/event-stream` rules), small enough that the CLI
 * needs no dependency for `--wait` and `--follow`.
 */

/** One dispatched event. `event` is `message` when the server named none. */
export interface SseEvent {
  event: string;
  data: string;
  /** The last `id:` seen so far in the stream (ids carry over to later events, as in EventSource). */
  id: string | undefined;
}

/** Turns decoded text, fed in arbitrary chunks, into events. */
export class SseParser {
  private buffer = '';
  private started = false;
  private eventType = '';
  private data: string[] = [];
  private lastId: string | undefined;

  /** Feeds a chunk of text; returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.startsWith('\uFEFF')) this.buffer = this.buffer.slice(1);
    }
    return this.drain(false);
  }

  /** Ends the stream; an event without its closing blank line is dropped, as the standard says. */
  end(): SseEvent[] {
    const events = this.drain(true);
    this.buffer = '';
    this.eventType = '';
    this.data = [];
    return events;
  }

  private drain(atEnd: boolean): SseEvent[] {
    const events: SseEvent[] = [];
    for (let line = this.nextLine(atEnd); line !== undefined; line = this.nextLine(atEnd)) {
      const event = this.processLine(line);
      if (event) events.push(event);
    }
    return events;
  }

  private nextLine(atEnd: boolean): string | undefined {
    const match = /\r\n|\r|\n/.exec(this.buffer);
    if (!match) return undefined;
    // A lone CR at the end may be the first half of a CRLF split across chunks: wait for more.
    if (!atEnd && match[0] === '\r' && match.index === this.buffer.length - 1) return undefined;
    const line = this.buffer.slice(0, match.index);
    this.buffer = this.buffer.slice(match.index + match[0].length);
    return line;
  }

  private processLine(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.eventType = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const event =
      this.data.length === 0
        ? undefined
        : { event: this.eventType || 'message', data: this.data.join('\n'), id: this.lastId };
    this.eventType = '';
    this.data = [];
    return event;
  }
}

/**
 * Reads the events of a response body until the server closes it. With `idleMs`, a stream that
 * sends nothing (not even a heartbeat comment) for that long throws: the connection is presumed dead.
 */
export async function* readSse(body: ReadableStream<Uint8Array>, idleMs?: number): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await readWithin(reader, idleMs);
      if (done) break;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
    yield* parser.push(decoder.decode());
    yield* parser.end();
  } finally {
    // Leaving early (the `end` event, an error) must release the connection, not leave it open.
    await reader.cancel().catch(() => undefined);
  }
}

type ReadResult = Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;

async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  idleMs: number | undefined,
): Promise<ReadResult> {
  if (idleMs === undefined) return reader.read();
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the event stream sent nothing for ${idleMs / 1000} s`)),
      idleMs,
    );
  });
  try {
    return await Promise.race([reader.read(), idle]);
  } finally {
    clearTimeout(timer);
  }
}
