import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { deleteRetentionMs, survivors } from '../../shared/log/compaction';
import { sweepRetention } from '../../shared/log/retention';
import type { BatchRecord } from '../../shared/records/types';
import { bucketName, s3Client } from '../../shared/runtime/aws';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const produce = async (topic: string, records: unknown[]) => {
  const response = await http.post(`/v1/topics/${topic}/records`, { records });
  expect(response.status).toBe(200);
};

const readAll = async (topic: string) => {
  const out: { offset: number; key: string | null; value: string | null }[] = [];
  let offset = 0;
  for (let page = 0; page < 50; page++) {
    const response = await http.get(`/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=1`);
    expect(response.status).toBe(200);
    out.push(...response.body.records);
    if (response.body.nextOffset >= response.body.highWatermark) return out;
    expect(response.body.nextOffset).toBeGreaterThan(offset);
    offset = response.body.nextOffset;
  }
  throw new Error('the reader did not reach the high watermark');
};

const segments = async () => (await s3Client().send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: 'segments/' }))).KeyCount ?? 0;

describe('which records compaction keeps', () => {
  const record = (offset: number, key: string | null, value: string | null): BatchRecord => ({
    offset,
    timestamp: 0,
    key: key === null ? null : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    headers: [],
  });
  it('keeps the latest record per key and records without a key; tombstones until their retention ends', () => {
    const records = [record(0, 'a', '1'), record(1, null, 'n'), record(2, 'b', null)];
    const latest = new Map([
      [Buffer.from('a').toString('base64'), 5],
      [Buffer.from('b').toString('base64'), 2],
    ]);
    expect(survivors(records, latest, 1000, 1000).map((r) => r.offset)).toEqual([1, 2]);
    expect(survivors(records, latest, 1000, 1000 + deleteRetentionMs + 1).map((r) => r.offset)).toEqual([1]);
  });
});

describe('cleanup.policy=compact', () => {
  it('keeps the latest value per key, keeps offsets, and readers step over the gaps', async () => {
    await http.post('/v1/topics', { name: 'profiles', partitions: 1, config: { 'cleanup.policy': 'compact', 'retention.ms': 1 } });
    await produce('profiles', [
      { key: 'k1', value: 'a1', partition: 0 },
      { key: 'k2', value: 'b1', partition: 0 },
      { key: null, value: 'no key', partition: 0 },
    ]);
    await produce('profiles', [{ key: 'k9', value: 'x1', partition: 0 }]);
    await produce('profiles', [
      { key: 'k1', value: 'a2', partition: 0 },
      { key: 'k2', value: null, partition: 0 },
      { key: 'k9', value: 'x2', partition: 0 },
    ]);
    await produce('profiles', [{ key: 'k3', value: 'c1', partition: 0 }]);

    const report = await sweepRetention();
    // Time retention does not apply to a compact-only topic, whatever retention.ms says.
    expect(report.batchesDeleted).toBe(0);
    expect(report.batchesCompacted).toBe(2);
    expect(report.recordsCompactedAway).toBe(3);

    expect(await readAll('profiles')).toMatchObject([
      { offset: 2, key: null, value: 'no key' },
      { offset: 4, key: 'k1', value: 'a2' },
      { offset: 5, key: 'k2', value: null },
      { offset: 6, key: 'k9', value: 'x2' },
      { offset: 7, key: 'k3', value: 'c1' },
    ]);
    const described = await http.get('/v1/topics/profiles');
    expect(described.body.partitions[0]).toMatchObject({ logStartOffset: 0, highWatermark: 8 });

    // A day later the tombstone goes too.
    const later = await sweepRetention(Date.now() + deleteRetentionMs + 60_000);
    expect(later.recordsCompactedAway).toBe(1);
    expect((await readAll('profiles')).map((r) => r.offset)).toEqual([2, 4, 6, 7]);
  });

  it('rewrites S3-backed batches and removes the objects nothing refers to any more', async () => {
    await http.post('/v1/topics', { name: 'big-profiles', partitions: 1, config: { 'cleanup.policy': 'compact' } });
    const big = (tag: string) => tag.repeat(5000);
    await produce('big-profiles', [
      { key: 'p', value: big('1'), partition: 0 },
      { key: 'q', value: big('2'), partition: 0 },
    ]);
    await produce('big-profiles', [{ key: 'p', value: big('3'), partition: 0 }]);
    await produce('big-profiles', [{ key: 'r', value: 'active', partition: 0 }]);
    const before = await segments();
    const report = await sweepRetention();
    expect(report.batchesCompacted).toBe(1);
    // The first batch's object goes; its survivor (q) moves to a new object: same count.
    expect(await segments()).toBe(before);
    const records = await readAll('big-profiles');
    expect(records.map((r) => [r.offset, r.key])).toEqual([
      [1, 'q'],
      [2, 'p'],
      [3, 'r'],
    ]);
    expect(records[0]!.value).toBe(big('2'));
  });
});
