#!/usr/bin/env node
// The o3 command. tsx compiles the TypeScript sources (and drop-in .ts tasks) as they load.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
