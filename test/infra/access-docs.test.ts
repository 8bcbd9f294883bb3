import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/project';
import { accessTableMarkdown } from './access-docs';

describe('docs/deploy.md', () => {
  it("lists every function's grants exactly as the route and schedule tables give them", () => {
    const deploy = readFileSync(join(repoRoot, 'docs/deploy.md'), 'utf8');
    // Regenerate with: npx tsx -e "import('./test/infra/access-docs.ts').then(m => console.log(m.accessTableMarkdown()))"
    expect(deploy).toContain(accessTableMarkdown());
  });
});
