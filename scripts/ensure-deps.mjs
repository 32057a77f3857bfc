// Installs the locked dependencies when node_modules is missing, so `npm start` and `npm test` work on a fresh clone.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

if (!existsSync(new URL('../node_modules/.package-lock.json', import.meta.url))) {
  console.error('o3: node_modules is missing, installing the locked dependencies (npm ci)...');
  execSync('npm ci', { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
}
