/**
 * Cold start, as far as it can be measured off AWS: each function's bundle (infra/build.ts
 * `bundleHandler`, the same esbuild options CDK uses), its size, and how long a fresh Node process
 * takes to import it. Each bundle is written (with its source map) to a temporary folder outside
 * the repository, so that, as on Lambda, no node_modules is reachable and the native CRC32C
 * binding falls back to JS (`nativeModules` mode `fallback`). Each import is timed with and
 * without --enable-source-maps: the stack sets NODE_OPTIONS=--enable-source-maps.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleHandler, handlerNames } from '../infra/build';
import { median } from './harness';

export interface ColdStartRow {
  readonly name: string;
  readonly bundleBytes: number;
  readonly sourceMapBytes: number;
  /** Median time of `await import(bundle)` inside the fresh process. */
  readonly importMs: number;
  /** Median wall time of the whole `node -e "await import(bundle)"` process, start to exit. */
  readonly processMs: number;
  readonly importMsWithSourceMaps: number;
  readonly processMsWithSourceMaps: number;
}

export interface ColdStartResults {
  readonly runs: number;
  /** Median wall time of `node -e ""`: what any Node process costs to start and exit here. */
  readonly emptyProcessMs: number;
  readonly rows: ColdStartRow[];
}

/** What Lambda gives a function: no repository, no NODE_OPTIONS of ours, just a region. */
function lambdaLikeEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_REGION: 'us-east-1', LANG: 'C.UTF-8' };
}

function timeImport(file: string | undefined, sourceMaps: boolean, cwd: string): { importMs: number; processMs: number } {
  const script = file
    ? `const t = performance.now(); const m = await import(${JSON.stringify(pathToFileURL(file).href)}); ` +
      `if (typeof m.handler !== 'function') throw new Error('no handler export'); ` +
      `process.stdout.write(JSON.stringify({ importMs: performance.now() - t }));`
    : '';
  const started = performance.now();
  const result = spawnSync(process.execPath, [...(sourceMaps ? ['--enable-source-maps'] : []), '--input-type=module', '-e', script], {
    cwd,
    env: lambdaLikeEnv(),
    encoding: 'utf8',
  });
  const processMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`importing ${file ?? '(nothing)'} failed: ${result.stderr || result.error?.message}`);
  return { importMs: file ? (JSON.parse(result.stdout) as { importMs: number }).importMs : 0, processMs };
}

export async function runColdStart(
  options: { runs: number },
  progress: (line: string) => void = () => undefined,
): Promise<ColdStartResults> {
  const scratch = mkdtempSync(join(tmpdir(), 'logway-coldstart-'));
  try {
    const bundles: { name: string; file: string; bytes: number; mapBytes: number }[] = [];
    for (const name of handlerNames()) {
      // Straight into the scratch folder: dist/ (npm run build's output) is left alone.
      const built = await bundleHandler(name, scratch);
      const map = `${built.file}.map`;
      const mapBytes = existsSync(map) ? statSync(map).size : 0;
      bundles.push({ name, file: built.file, bytes: built.bytes, mapBytes });
    }
    progress(`cold start: bundled ${bundles.length} handlers`);
    const empty: number[] = [];
    for (let i = 0; i < options.runs; i++) empty.push(timeImport(undefined, false, scratch).processMs);
    const rows: ColdStartRow[] = [];
    for (const bundle of bundles) {
      const plain: { importMs: number; processMs: number }[] = [];
      const mapped: { importMs: number; processMs: number }[] = [];
      // Interleaved, so drift in machine load hits both variants alike.
      for (let i = 0; i < options.runs; i++) {
        plain.push(timeImport(bundle.file, false, scratch));
        mapped.push(timeImport(bundle.file, true, scratch));
      }
      rows.push({
        name: bundle.name,
        bundleBytes: bundle.bytes,
        sourceMapBytes: bundle.mapBytes,
        importMs: median(plain.map((r) => r.importMs)),
        processMs: median(plain.map((r) => r.processMs)),
        importMsWithSourceMaps: median(mapped.map((r) => r.importMs)),
        processMsWithSourceMaps: median(mapped.map((r) => r.processMs)),
      });
    }
    return { runs: options.runs, emptyProcessMs: median(empty), rows };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
