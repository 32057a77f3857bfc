import { describe, expect, it } from 'vitest';
import { uuidV7 } from '../../src/engine/uuid-v7.js';

describe('uuidV7', () => {
  it('is a version 7, variant 10 UUID carrying the time, ordered by time', () => {
    const at = Date.UTC(2026, 10, 26, 12, 0, 0);
    const id = uuidV7(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace('-', '').slice(0, 12), 16)).toBe(at);
    expect(uuidV7(at + 1) > uuidV7(at)).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => uuidV7(at))).size).toBe(1000);
  });
});
