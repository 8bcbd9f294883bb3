/**
 * Where the project lives on disk, for the CDK app: the repository root (the esbuild project
 * root and the home of package-lock.json), the handler folder, and the package version that
 * every function reports from GET /v1/health.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** Handler modules: `functions/<name>.ts`, each exporting `handler`. */
export const handlersDir = join(repoRoot, 'functions');

export const lockFilePath = join(repoRoot, 'package-lock.json');

export const packageVersion = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** The exact version package-lock.json pins for an installed package. */
export function lockedVersion(packageName: string): string {
  const lock = JSON.parse(readFileSync(lockFilePath, 'utf8')) as {
    packages?: Record<string, { version?: string }>;
  };
  const version = lock.packages?.[`node_modules/${packageName}`]?.version;
  if (!version) throw new Error(`${packageName} is not in package-lock.json; run npm install`);
  return version;
}
