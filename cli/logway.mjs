#!/usr/bin/env node
// The `logway` bin inside the repository: runs the TypeScript CLI through tsx.
// (The published package's bin is the bundle client/dist/cli.js.)
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');
