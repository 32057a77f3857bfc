/**
 * TLS settings of an external system's connection. Certificates are verified by default; a task may
 * name a CA file (added to the system's roots, so a private CA does not lock out public ones), and
 * only an explicit `tls_verify: false` turns verification off — never silently: it is logged as a
 * warning every time a task builds its client.
 */
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { TaskFailure } from '../task/task-failure.js';

/** The TLS inputs a task class accepts (declared in its meta with `TLS_INPUTS`). */
export interface TlsInputs {
  ca_file?: string | null;
  tls_verify?: boolean | null;
}

/** Compiled TLS settings, ready for `https.request`. */
export interface TlsSettings {
  /** The trusted roots when a CA file was given; undefined means Node's defaults. */
  ca?: string[];
  rejectUnauthorized: boolean;
}

/** Input declarations shared by every built-in class that talks HTTPS. */
export const TLS_INPUTS = {
  ca_file: {
    type: 'string' as const,
    description: 'A PEM file of CA certificates to trust in addition to the system roots.',
  },
  tls_verify: {
    type: 'boolean' as const,
    description: 'Set to false to skip certificate verification (logged as a warning). Default true.',
  },
};

/** Turns the task's TLS inputs into settings; `warn` receives the warning when verification is off. */
export function compileTls(inputs: TlsInputs, target: string, warn: (message: string) => void): TlsSettings {
  const settings: TlsSettings = { rejectUnauthorized: inputs.tls_verify !== false };
  if (inputs.ca_file) settings.ca = [...rootCertificates, readCaFile(inputs.ca_file)];
  if (!settings.rejectUnauthorized) {
    warn(
      `TLS certificate verification is OFF for ${target} (tls_verify: false): ` +
        'anyone on the path can read or change this traffic, including the token',
    );
  }
  return settings;
}

function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw TaskFailure.nonRetryable(`cannot read the CA file '${file}' given as ca_file (${code})`, error);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw TaskFailure.nonRetryable(`the CA file '${file}' given as ca_file holds no PEM certificate`);
  }
  return text;
}

/** A warning when a token would travel unencrypted to a host other than this machine. */
export function plainHttpWarning(url: string, what: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(parsed.hostname);
  return parsed.protocol === 'http:' && !loopback
    ? `${what} is plain http (${parsed.origin}): the token travels unencrypted`
    : undefined;
}
