/** The console build: three files from console/src, rebuilt only when the sources are newer than the output. */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildConsole, consoleBuildIsStale, ensureConsoleBuilt } from '../../console/build';

const outDir = join(mkdtempSync(join(tmpdir(), 'logway-console-build-')), 'dist');
afterAll(() => rmSync(join(outDir, '..'), { recursive: true, force: true }));

it('builds index.html, app.js and app.css, the page loading only those', async () => {
  expect(consoleBuildIsStale(outDir)).toBe(true);
  const started = Date.now();
  const { files } = await buildConsole({ outDir });
  expect(Date.now() - started).toBeLessThan(5_000);
  for (const name of ['index.html', 'app.js', 'app.css', 'favicon.svg']) expect(existsSync(join(outDir, name)), name).toBe(true);
  expect(files.find((f) => f.file.endsWith('app.js'))!.bytes).toBeLessThan(200 * 1024);
  const html = readFileSync(join(outDir, 'index.html'), 'utf8');
  expect(html).toContain('src="app.js"');
  expect(html).toContain('href="app.css"');
  expect(html).not.toMatch(/https?:\/\//);
});

it('rebuilds only when the output is older than the sources', async () => {
  expect(consoleBuildIsStale(outDir)).toBe(false);
  const app = join(outDir, 'app.js');
  const before = statSync(app).mtimeMs;
  await ensureConsoleBuilt(outDir);
  expect(statSync(app).mtimeMs).toBe(before);
  const past = new Date(Date.UTC(2000, 0, 1));
  utimesSync(join(outDir, '.built'), past, past);
  expect(consoleBuildIsStale(outDir)).toBe(true);
  await ensureConsoleBuilt(outDir);
  expect(consoleBuildIsStale(outDir)).toBe(false);
  expect(statSync(app).mtimeMs).toBeGreaterThan(past.getTime());
});
