/**
 * Where the console's built files are in the published client package: dist/console, next to
 * the CLI bundle (client/build.ts swaps this module in for assets.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export async function consoleFilesDir(): Promise<string> {
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'console');
  if (!existsSync(join(dir, 'index.html')))
    throw new Error(`The console's files are missing from this package (${dir}); reinstall @logway/client.`);
  return dir;
}
