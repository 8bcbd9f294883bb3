/**
 * The test tiers of vitest.config.ts: every test file is in exactly one project, and a file that
 * needs the emulators is in the integration project (else `npm run test:unit` would fail on a
 * machine without Java, and `npm test` would run it without the emulators' endpoints).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { integrationTests } from '../vitest.config';
import { repoRoot } from '../infra/project';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'fixtures' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(repoRoot, path).split('\\').join('/')] : [];
  });
}

const sources = sourceFiles(join(repoRoot, 'test'));
const files = sources.filter((file) => file.endsWith('.test.ts'));
const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
/** What makes a file an integration test: the emulators' service, or `npm start` (Java). */
const usesEmulators = (source: string) => /support\/local-service|infra\/local\/start|startEmulators\(/.test(source);
/** Test helpers that start the service, so that a test importing one needs the emulators too. */
const emulatorHelpers = sources
  .filter((file) => !file.endsWith('.test.ts') && usesEmulators(read(file)))
  .map((file) => file.replace(/^.*\//, '').replace(/\.ts$/, ''));
const needsEmulators = (source: string) =>
  usesEmulators(source) || emulatorHelpers.some((helper) => new RegExp(`from '[^']*/${helper}'`).test(source));

it('lists only integration test files that exist', () => {
  for (const file of integrationTests) expect(files, `${file} is listed in vitest.config.ts but does not exist`).toContain(file);
});

it('puts every file that uses the emulators in the integration project', () => {
  const missing = files.filter((file) => !file.startsWith('test/infra/') && !integrationTests.includes(file) && needsEmulators(read(file)));
  expect(missing, 'these files need Java and the emulators: add them to integrationTests in vitest.config.ts').toEqual([]);
});
