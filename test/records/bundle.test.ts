/**
 * The library as Lambda gets it: one esbuild ESM bundle, @node-rs/crc32 left
 * external and absent (no node_modules next to the bundle). It must load,
 * fall back to the JS CRC32C, and encode/decode every codec.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'records-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('bundles for Node 22 without native modules and falls back to the JS CRC32C', async () => {
  await build({
    entryPoints: [fileURLToPath(new URL('../../shared/records/index.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['@node-rs/crc32'],
    outfile: join(dir, 'records.mjs'),
    logLevel: 'silent',
  });
  writeFileSync(
    join(dir, 'run.mjs'),
    `import * as r from './records.mjs';
const out = { crc: r.crc32cImplementation, codecs: {} };
for (const c of r.COMPRESSION_TYPES) {
  const bytes = r.encodeRecordBatch({ compression: c, records: [{ key: Buffer.from('k'), value: Buffer.from('v'.repeat(500)), timestamp: 5 }] });
  out.codecs[c] = Buffer.from(r.decodeRecordBatch(bytes).records[0].value).toString();
}
console.log(JSON.stringify(out));`,
  );
  const result = spawnSync(process.execPath, ['run.mjs'], { cwd: dir, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  const out = JSON.parse(result.stdout) as { crc: string; codecs: Record<string, string> };
  expect(out.crc).toBe('js');
  expect(Object.values(out.codecs)).toEqual(Array(5).fill('v'.repeat(500)));
});
