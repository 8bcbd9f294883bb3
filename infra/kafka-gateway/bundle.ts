/**
 * The container image's build context: infra/kafka-gateway/main.ts bundled by esbuild with the
 * options every Lambda bundle uses (infra/bundling.ts), and the Dockerfile beside it. Made on
 * this machine at synth, synchronously (a construct cannot await), without Docker; `cdk deploy`
 * then builds the image from this directory (that step needs Docker or a compatible CLI).
 */
import { buildSync } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { esbuildOptions } from '../bundling';
import { repoRoot } from '../project';

export const gatewaySourceDir = join(repoRoot, 'infra', 'kafka-gateway');

/** Writes main.mjs (+ map) and the Dockerfile into `outDir`; `placeholder`: an empty main.mjs (synthesis that skips bundling). */
export function bundleKafkaGateway(outDir: string, options: { placeholder?: boolean } = {}): { dir: string; bytes: number } {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(gatewaySourceDir, 'Dockerfile'), join(outDir, 'Dockerfile'));
  const outfile = join(outDir, 'main.mjs');
  if (options.placeholder) {
    writeFileSync(outfile, '// not bundled: this synthesis skipped bundling\n');
    writeFileSync(`${outfile}.map`, '{}\n');
    return { dir: outDir, bytes: 0 };
  }
  buildSync(esbuildOptions(join(gatewaySourceDir, 'main.ts'), outfile));
  return { dir: outDir, bytes: statSync(outfile).size };
}
