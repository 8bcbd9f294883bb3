/**
 * Anomalies `npm run chaos` found in Logway, each reduced to a deterministic test. A test marked
 * `it.fails` reproduces a bug that is not fixed yet: it passes while the bug is there, and
 * starts failing once the fix lands, at which point `.fails` must be removed.
 */
import { describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

describe('chaos regressions', () => {
  // Found by `npm run chaos -- --quick --seed 2` (unjustified-rejection): a produce refused with
  // 413 RECORD_TOO_LARGE 1.6 s after max.message.bytes had been raised to 1 MiB. The produce path
  // checks the size against the topic cached for 5 s (shared/topics/cache.ts via
  // shared/log/produce.ts), and nothing refreshes it before refusing; the contract says a
  // request is never refused on metadata that a fresh read would contradict.
  it.fails('accepts a record at once after max.message.bytes is raised', async () => {
    expect((await http.post('/v1/topics', { name: 'raised', partitions: 1, config: { 'max.message.bytes': 3000 } })).status).toBe(201);
    // A first produce caches the topic with the small limit.
    expect((await http.post('/v1/topics/raised/records', { records: [{ value: 'small' }] })).status).toBe(200);
    expect((await http.patch('/v1/topics/raised', { config: { 'max.message.bytes': 1_048_576 } })).status).toBe(200);
    const big = await http.post('/v1/topics/raised/records', { records: [{ value: 'x'.repeat(6000) }] });
    expect(big.body).toMatchObject({ offsets: [{ partition: 0, offset: 1 }] });
    expect(big.status).toBe(200);
  });
});
