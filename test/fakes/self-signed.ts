/** A self-signed certificate for 127.0.0.1, made with the openssl CLI in a temp folder for one test file. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The key and certificate (PEM), and the certificate's file (usable as a ca_file). */
export interface SelfSigned {
  key: string;
  cert: string;
  certFile: string;
  dir: string;
}

/** Generates a P-256 key and a one-day certificate for IP 127.0.0.1. */
export function selfSignedCertificate(): SelfSigned {
  const dir = mkdtempSync(path.join(tmpdir(), 'o3-tls-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile, dir };
}
