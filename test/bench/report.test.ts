/**
 * The hot-partition pairs section of the bench report (bench/report.ts): the 16:4 ratios it
 * prints and the summary the target is read from. Pure; no emulator.
 */
import { describe, expect, it } from 'vitest';
import { hotPartitionPairsSection } from '../../bench/report';
import type { HotPartitionPair, ProduceCell } from '../../bench/workloads';

function cell(clients: number, requestsPerSecond: number, failedRequests = 0): ProduceCell {
  return { clients, requestsPerSecond, failedRequests, latency: { p99Ms: 90, maxMs: 140 } } as unknown as ProduceCell;
}

const pair = (n: number, idempotent: boolean, four: number, sixteen: number, failed = 0): HotPartitionPair => ({
  pair: n,
  idempotent,
  firstClients: n % 2 === 1 ? 4 : 16,
  four: cell(4, four),
  sixteen: cell(16, sixteen, failed),
});

describe('hotPartitionPairsSection', () => {
  const lines = hotPartitionPairsSection([
    pair(1, false, 200, 180),
    pair(1, true, 100, 110),
    pair(2, false, 200, 210),
    pair(2, true, 100, 90, 2),
    pair(3, false, 200, 150),
    pair(3, true, 100, 120),
  ]);
  const text = lines.join('\n');

  it("prints each pair's ratio, which cell went first, and the failures of both cells", () => {
    expect(text).toMatch(/\|\s+1 \|\s+no \|\s+4 clients \|\s+200\.0 \|\s+180\.0 \| 0\.90x \|/);
    expect(text).toMatch(/\|\s+2 \|\s+yes \|\s+16 clients \|\s+100\.0 \|\s+90\.0 \| 0\.90x \|.*\|\s+2 \|$/m);
  });

  it('summarises each kind by the median ratio, its range and the pairs at 1.00x or more', () => {
    expect(text).toContain('Without an Idempotency-Key: 16:4 median 0.90x, range 0.75-1.05x, 1 of 3 pairs at 1.00x or more.');
    expect(text).toContain('With an Idempotency-Key: 16:4 median 1.10x, range 0.90-1.20x, 2 of 3 pairs at 1.00x or more.');
  });

  it('leaves out a kind that has no pairs', () => {
    const only = hotPartitionPairsSection([pair(1, false, 100, 100)]).join('\n');
    expect(only).toContain('Without an Idempotency-Key: 16:4 median 1.00x');
    expect(only).not.toContain('With an Idempotency-Key');
  });
});
