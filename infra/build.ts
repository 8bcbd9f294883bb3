/**
 * `npm run build`: bundles every Lambda handler (each route of shared/http/routes.ts and each
 * scheduled function of infra/schedules.ts) with esbuild, with the same options CDK uses
 * (infra/bundling.ts), into dist/functions/<name>/index.mjs, and prints each bundle's size.
 * Type-checking is the `tsc --noEmit` that runs before it.
 */
import { build } from 'esbuild';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { routes } from '../shared/http/routes';
import { esbuildOptions } from './bundling';
import { handlersDir, repoRoot } from './project';
import { scheduledFunctions } from './schedules';

export const distDir = join(repoRoot, 'dist', 'functions');

export function handlerNames(): string[] {
  return [...new Set([...routes.map((r) => r.name), ...scheduledFunctions.map((s) => s.name)])];
}

/** Bundles `functions/<name>.ts` into `<outDir>/<name>/index.mjs` (and its source map). */
export async function bundleHandler(name: string, outDir: string = distDir): Promise<{ name: string; file: string; bytes: number }> {
  const outfile = join(outDir, name, 'index.mjs');
  await build(esbuildOptions(join(handlersDir, `${name}.ts`), outfile));
  return { name, file: outfile, bytes: statSync(outfile).size };
}

async function main(): Promise<void> {
  rmSync(distDir, { recursive: true, force: true });
  mkdirSync(distDir, { recursive: true });
  const results = [];
  for (const name of handlerNames()) results.push(await bundleHandler(name));
  for (const { name, bytes } of results) console.log(`${name.padEnd(26)} ${(bytes / 1024).toFixed(0).padStart(6)} KiB`);
  console.log(`${results.length} handlers bundled into ${distDir}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
