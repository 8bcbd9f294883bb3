/**
 * The publishable package: client/build.ts bundles the library and the CLI with esbuild; the
 * bundles run on their own (the service's partitioner inlined, `logway dev` explaining where the
 * local runtime lives), against this file's local service.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildClient } from '../../client/build';
import { partitionForKey } from '../../shared/records/partitioner';
import { repoRoot } from '../../infra/project';
import { startTestService, type TestService } from '../support/local-service';

const run = promisify(execFile);
// Inside the repository, so the bundles' external dependencies resolve from its node_modules.
const outDir = join(repoRoot, 'client', 'dist', `.test-${process.pid}`);

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
  await buildClient({ outDir, types: false });
});

afterAll(async () => {
  rmSync(outDir, { recursive: true, force: true });
  await service?.stop();
});

it('declares a publishable package: exports, bin, dependencies', () => {
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'client', 'package.json'), 'utf8')) as Record<string, any>;
  expect(manifest.name).toBe('@logway/client');
  expect(manifest.exports['.'].import).toBe('./dist/index.js');
  expect(manifest.bin.logway).toBe('./dist/cli.js');
  expect(Object.keys(manifest.dependencies).sort()).toEqual(['@aws-sdk/credential-provider-node', '@smithy/signature-v4', 'commander']);
  const root = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as Record<string, any>;
  for (const dependency of Object.keys(manifest.dependencies))
    expect(root.dependencies[dependency]).toBe(manifest.dependencies[dependency]);
});

it('the bundled library produces and fetches, partitioning as the service does', async () => {
  const { Logway } = (await import(pathToFileURL(join(outDir, 'index.js')).href)) as typeof import('../../client/src/index');
  const logway = new Logway({ url: service.url });
  await logway.admin().createTopic({ topic: 'bundled', numPartitions: 5 });
  const producer = logway.producer({ lingerMs: 0 });
  const metadata = await producer.send({ topic: 'bundled', messages: ['a', 'b', 'c'].map((key) => ({ key, value: key.toUpperCase() })) });
  await producer.close();
  expect(metadata.map((m) => m.partition)).toEqual(['a', 'b', 'c'].map((key) => partitionForKey(key, 5)));
  const [result] = await logway.fetch({ partitions: [{ topic: 'bundled', partition: metadata[0]!.partition, offset: 0 }] });
  expect(result && 'messages' in result && result.messages[0]!.value!.toString()).toBe('A');
});

it('the bundled CLI runs, and its dev command explains where the local runtime is', async () => {
  const cli = join(outDir, 'cli.js');
  const version = await run(process.execPath, [cli, '--version']);
  expect(version.stdout.trim()).toBe('0.1.0');
  const list = await run(process.execPath, [cli, '--url', service.url, 'topics', 'list']);
  expect(list.stdout).toContain('bundled');
  const dev = await run(process.execPath, [cli, 'dev']).catch((error: { code: number; stderr: string }) => error);
  expect(dev).toMatchObject({ code: 1 });
  expect((dev as { stderr: string }).stderr).toContain('npm start');
});
