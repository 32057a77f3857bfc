/**
 * Encryption of secret values at rest (§9). Every stored string that holds a secret is replaced by
 * `{"$sealed": "v1.<iv>.<tag>.<ciphertext>"}` (AES-256-GCM), so neither the database file nor a
 * backup of it holds a token. The key comes from O3_SECRET_KEY, else from a key file that the
 * embedded default creates under ./data on first start.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { O3Error } from '../errors.js';

const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const PREFIX = 'v1';

/** A stored secret: what a sealed string looks like in JSON. */
export interface Sealed {
  $sealed: string;
}

/** True when a value is a sealed secret. */
export function isSealed(value: unknown): value is Sealed {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as Record<string, unknown>).$sealed === 'string' &&
    Object.keys(value).length === 1
  );
}

/** Seals and opens secret strings with one key. */
export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== KEY_BYTES)
      throw new O3Error('bad_request', `the secret key must be ${KEY_BYTES} bytes`);
  }

  /** Encrypts a string. */
  seal(plain: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const parts = [PREFIX, iv, cipher.getAuthTag(), data].map((p) =>
      typeof p === 'string' ? p : p.toString('base64url'),
    );
    return { $sealed: parts.join('.') };
  }

  /** Decrypts a sealed string; a wrong key or a changed text is an error, never garbage. */
  open(sealed: Sealed): string {
    const [prefix, iv, tag, data] = sealed.$sealed.split('.');
    if (prefix !== PREFIX || iv === undefined || tag === undefined || data === undefined) {
      throw new O3Error('internal', 'a sealed secret is malformed');
    }
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new O3Error(
        'internal',
        'a stored secret cannot be decrypted: is O3_SECRET_KEY the key it was stored with?',
        {
          cause: error,
        },
      );
    }
  }

  /** A deep copy of a JSON value in which every string for which `isSecret` holds is sealed. */
  sealDeep<T>(value: T, isSecret: (text: string) => boolean): T {
    return mapStrings(value, (text) => (isSecret(text) ? this.seal(text) : text)) as T;
  }

  /** A deep copy of a JSON value with every sealed string opened. */
  openDeep<T>(value: T): T {
    return mapSealed(value, (sealed) => this.open(sealed)) as T;
  }
}

/** A deep copy of a JSON value with every sealed string shown as `mask`. */
export function maskSealed<T>(value: T, mask: string): T {
  return mapSealed(value, () => mask) as T;
}

/**
 * The key: O3_SECRET_KEY (base64 of 32 bytes) when set, else the key file, created with a new
 * random key (mode 0600) when it does not exist yet.
 */
export function loadSecretKey(envKey: string | undefined, keyFile: string): Buffer {
  if (envKey) {
    const key = Buffer.from(envKey, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new O3Error('bad_request', `O3_SECRET_KEY must be the base64 text of ${KEY_BYTES} random bytes`);
    }
    return key;
  }
  if (!existsSync(keyFile)) {
    mkdirSync(path.dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  const key = Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64');
  if (key.length !== KEY_BYTES)
    throw new O3Error('bad_request', `the key file ${keyFile} does not hold a ${KEY_BYTES}-byte key`);
  return key;
}

function mapStrings(value: unknown, map: (text: string) => unknown): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, map)]));
  }
  return value;
}

function mapSealed(value: unknown, map: (sealed: Sealed) => unknown): unknown {
  if (isSealed(value)) return map(value);
  if (Array.isArray(value)) return value.map((item) => mapSealed(item, map));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapSealed(v, map)]));
  }
  return value;
}
