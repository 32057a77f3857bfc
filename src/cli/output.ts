/** Where the client commands write: results on stdout, notices on stderr, progress in place on a terminal. */

/** Prints text and a newline on stdout. */
export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Prints a value as indented JSON on stdout (what `--json` shows). */
export function printJson(value: unknown): void {
  print(JSON.stringify(value, null, 2));
}

/** Prints a notice on stderr, so it never mixes into output a script reads. */
export function notice(text: string): void {
  process.stderr.write(`${text}\n`);
}

/**
 * A status line that changes: rewritten in place on a terminal, one line per change otherwise
 * (a log file or CI output keeps the history instead of carriage returns).
 */
export class ProgressLine {
  private last = '';
  private open = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {}

  /** Shows `text` unless it is what the line already says. */
  update(text: string): void {
    if (text === this.last) return;
    this.last = text;
    if (!this.stream.isTTY) {
      this.stream.write(`${text}\n`);
      return;
    }
    // A line wider than the terminal wraps, and `\r` would then rewrite only its last row.
    const width = this.stream.columns > 1 ? this.stream.columns - 1 : text.length;
    this.stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    this.open = true;
  }

  /** Prints a notice below the line; the next update starts a fresh line. */
  notice(text: string): void {
    this.done();
    notice(text);
  }

  /** Ends the line in place, so what follows starts on its own line. */
  done(): void {
    if (this.open) this.stream.write('\n');
    this.open = false;
  }
}
