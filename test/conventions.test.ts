/**
 * Conventions of the source that a reviewer would otherwise have to remember (CONTRIBUTING.md):
 * each is "one way of doing a thing", checked by reading the files.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../infra/project';

/** What is not the repository's own (.gitignore'd output, dependencies, git). */
const notSources = ['node_modules', '.git', 'cdk.out', '.logway', 'dist', 'coverage', 'chaos-results'];

/** The repository's files under `dir` (relative to the root, with `/`), without dependencies, git and build output. */
function filesUnder(dir: string, keep: (file: string) => boolean = () => true): string[] {
  return readdirSync(join(repoRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (notSources.includes(entry.name)) return [];
    if (entry.isDirectory()) return filesUnder(path, keep);
    return entry.isFile() && keep(path) ? [path] : [];
  });
}

const read = (file: string) => readFileSync(join(repoRoot, file), 'utf8');
const isTypeScript = (file: string) => file.endsWith('.ts');
const linesMatching = (files: string[], pattern: RegExp) =>
  files.flatMap((file) =>
    read(file)
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );

it("builds errors with the catalogue's builders: no `new LogwayError(` in shared/ outside shared/errors.ts", () => {
  const exempt = (file: string) => file === 'shared/errors.ts';
  const files = filesUnder('shared', isTypeScript).filter((file) => !exempt(file));
  expect(linesMatching(files, /new LogwayError\(/), 'add or use a builder in shared/errors.ts').toEqual([]);
});

it('backs off and sleeps with shared/runtime/retry.ts: no exponential delays or sleep promises of its own', () => {
  const exempt = (file: string) => file === 'shared/runtime/retry.ts';
  const files = ['shared', 'infra', 'functions', 'cli', 'client/src']
    .flatMap((dir) => filesUnder(dir, isTypeScript))
    .filter((file) => !exempt(file));
  const exponentialDelay = /\b\d[\d_]*\s*\*\s*2\s*\*\*|Math\.pow\(\s*2\b/;
  const sleepPromise = /new Promise(<void>)?\(\((\w+)\) => setTimeout\(\2, [^()]*(\([^()]*\))?[^()]*\)\)/;
  expect(linesMatching(files, exponentialDelay), 'use backoffCeiling/backoffDelay/fullJitterDelay').toEqual([]);
  expect(linesMatching(files, sleepPromise), 'use sleep').toEqual([]);
});

it('cites no file outside the repo: the product contract users rely on is docs/', () => {
  const text = (file: string) => !/\.(png|jpe?g|gif|ico|woff2?|zip|gz|tgz|jar)$/.test(file);
  expect(linesMatching(filesUnder('', text), /DESIGN\.md/), 'cite docs/ (docs/api.md, docs/guarantees.md...) instead').toEqual([]);
});
