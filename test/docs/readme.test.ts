/** The README's examples state where keys land; they must say what Kafka's partitioner does. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/project';
import { partitionForKey } from '../../shared/records/partitioner';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

describe('README', () => {
  it("the curl tour's user-42 lands where murmur2 puts it among 3 partitions", () => {
    const partition = partitionForKey('user-42', 3);
    const tour = readme.slice(readme.indexOf('### A quick tour with curl'));
    const claimed = [...tour.slice(0, tour.indexOf('Every endpoint')).matchAll(/"partition":(\d+)|partitions\/(\d+)\/records/g)].map((m) =>
      Number(m[1] ?? m[2]),
    );
    expect(claimed.length).toBeGreaterThan(0);
    for (const p of claimed) expect(p).toBe(partition);
  });

  it("the CLI transcript's keys land where murmur2 puts them among 3 partitions", () => {
    for (const match of readme.matchAll(/^partition (\d+) offset \d+: (\w+) =>/gm)) {
      expect(partitionForKey(match[2]!, 3), match[0]).toBe(Number(match[1]));
    }
  });
});
