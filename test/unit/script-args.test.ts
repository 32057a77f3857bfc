import { describe, expect, it } from 'vitest';
import { ScriptArgs } from '../../src/store/redis/script-args.js';

/** The bulk strings of one RESP array, read by their declared byte lengths. */
function readCommand(bytes: Buffer): string[] {
  const text = bytes.toString('latin1');
  const header = /^\*(\d+)\r\n/.exec(text)!;
  let at = header[0].length;
  const out: string[] = [];
  for (let i = 0; i < Number(header[1]); i++) {
    const length = /^\$(\d+)\r\n/.exec(text.slice(at))!;
    at += length[0].length;
    out.push(bytes.subarray(at, at + Number(length[1])).toString('utf8'));
    at += Number(length[1]);
    expect(text.slice(at, at + 2)).toBe('\r\n');
    at += 2;
  }
  expect(at).toBe(bytes.length);
  return out;
}

function encode(args: string[], script = 'return 1'): string[] {
  const out = new ScriptArgs();
  for (const arg of args) out.add(arg);
  return readCommand(out.command('eval', script).toWritable({}) as Buffer);
}

describe('ScriptArgs', () => {
  it('writes ASCII arguments with their lengths', () => {
    expect(encode(['a', '', '{"x":1}'])).toEqual(['eval', 'return 1', '0', 'a', '', '{"x":1}']);
  });

  it('measures the bytes of text that is not ASCII, in the arguments or the script', () => {
    const args = ['café', 'ok', '日本語 ✓', '\u{1F600}'];
    expect(encode(args)).toEqual(['eval', 'return 1', '0', ...args]);
    expect(encode(['x'], "return 'é'")).toEqual(['eval', "return 'é'", '0', 'x']);
  });

  it('counts its lists', () => {
    const out = new ScriptArgs();
    out.addCounted(['p', 'q'], (to, item) => to.add(item.toUpperCase()));
    expect(readCommand(out.command('evalsha', 'f'.repeat(40)).toWritable({}) as Buffer).slice(3)).toEqual([
      '2',
      'P',
      'Q',
    ]);
  });
});
