/**
 * Builds the web console (console/src) into static files: index.html, app.js (Preact and the app
 * in one ESM bundle) and app.css. `npm start` and the CLI build it on demand when the output is
 * missing or older than its sources (tens of milliseconds with esbuild), so the output is never
 * committed; client/build.ts puts a copy inside the published client package.
 * Run by hand with `npm run build:console`.
 */
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const consoleDir = dirname(fileURLToPath(import.meta.url));
export const consoleSourceDir = join(consoleDir, 'src');
export const defaultConsoleOutDir = join(consoleDir, 'dist');
/** Written last: its time is the build's. */
const stampName = '.built';

/** Writes a file through a temporary name, so a concurrent reader or builder never sees half of it. */
function writeAtomically(path: string, contents: string | Uint8Array): void {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, contents);
  renameSync(temporary, path);
}

export async function buildConsole(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<{ files: { file: string; bytes: number }[] }> {
  const outDir = options.outDir ?? defaultConsoleOutDir;
  mkdirSync(outDir, { recursive: true });
  const result = await build({
    entryPoints: { app: join(consoleSourceDir, 'main.tsx') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome110', 'firefox110', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'error',
    outdir: outDir,
    write: false,
  });
  const files: { file: string; bytes: number }[] = [];
  for (const output of result.outputFiles) {
    writeAtomically(output.path, output.contents);
    files.push({ file: output.path, bytes: output.contents.length });
  }
  for (const name of ['index.html', 'favicon.svg']) {
    const contents = readFileSync(join(consoleSourceDir, name));
    writeAtomically(join(outDir, name), contents);
    files.push({ file: join(outDir, name), bytes: contents.length });
  }
  writeAtomically(join(outDir, stampName), new Date().toISOString());
  return { files };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** True when the output is missing or older than a source file or this script. */
export function consoleBuildIsStale(outDir: string = defaultConsoleOutDir): boolean {
  let built: number;
  try {
    built = statSync(join(outDir, stampName)).mtimeMs;
  } catch {
    return true;
  }
  return Math.max(newestMtime(consoleSourceDir), statSync(fileURLToPath(import.meta.url)).mtimeMs) > built;
}

/** Builds the console unless its output is up to date; returns the output folder. */
export async function ensureConsoleBuilt(outDir: string = defaultConsoleOutDir): Promise<string> {
  if (consoleBuildIsStale(outDir)) await buildConsole({ outDir });
  return outDir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildConsole()
    .then(({ files }) => {
      for (const { file, bytes } of files)
        console.log(`${relative(process.cwd(), file).padEnd(28)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
