import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { batchesToDelete, sweepRetention } from '../../shared/log/retention';
import { bucketName, s3Client } from '../../shared/runtime/aws';
import { useTestService } from '../support/local-service';

const { http } = useTestService();

const segmentCount = async () =>
  (await s3Client().send(new ListObjectsV2Command({ Bucket: bucketName(), Prefix: 'segments/' }))).KeyCount ?? 0;

describe('which batches retention removes', () => {
  const batch = (maxTimestamp: number, sizeBytes = 10) => ({ maxTimestamp, sizeBytes });
  it('removes leading batches past retention.ms and stops at the first kept one', () => {
    expect(batchesToDelete([batch(1), batch(2), batch(100), batch(3)], 40, 50, -1, 110)).toBe(2);
  });
  it('removes the oldest batches while the partition is over retention.bytes', () => {
    expect(batchesToDelete([batch(1), batch(2), batch(3), batch(4)], 40, -1, 15, 0)).toBe(3);
  });
  it('keeps everything with unlimited retention', () => {
    expect(batchesToDelete([batch(1)], 10, -1, -1, 1e15)).toBe(0);
  });
});

describe('retention sweep', () => {
  it('moves the log start offset past expired batches, deletes their S3 segments, and keeps the rest readable', async () => {
    await http.post('/v1/topics', { name: 'short', partitions: 1, config: { 'retention.ms': 60_000 } });
    const old = Date.now() - 3_600_000;
    const big = 'b'.repeat(5000); // over the inline threshold: stored in S3
    await http.post('/v1/topics/short/records', {
      records: [
        { value: big, timestamp: old },
        { value: big, timestamp: old },
      ],
    });
    await http.post('/v1/topics/short/records', { records: [{ value: 'old and small', timestamp: old }] });
    await http.post('/v1/topics/short/records', { records: [{ value: 'fresh' }] });
    const segmentsBefore = await segmentCount();

    const report = await sweepRetention();
    expect(report.batchesDeleted).toBe(2);
    expect(report.segmentsDeleted).toBe(1);
    expect(await segmentCount()).toBe(segmentsBefore - 1);

    const described = await http.get('/v1/topics/short');
    expect(described.body.partitions[0]).toEqual({ partition: 0, logStartOffset: 3, highWatermark: 4, sizeBytes: expect.any(Number) });
    const gone = await http.get('/v1/topics/short/partitions/0/records?offset=0');
    expect(gone.status).toBe(416);
    expect(gone.body.error).toMatchObject({ logStartOffset: 3, highWatermark: 4 });
    const kept = await http.get('/v1/topics/short/partitions/0/records?offset=3');
    expect(kept.body.records.map((r: { value: string }) => r.value)).toEqual(['fresh']);
    expect((await http.get('/v1/topics/short/partitions/0/offsets?at=earliest')).body.offset).toBe(3);
  });

  it('applies retention.bytes, oldest first', async () => {
    await http.post('/v1/topics', { name: 'small', partitions: 1, config: { 'retention.bytes': 150 } });
    for (let i = 0; i < 5; i++) await http.post('/v1/topics/small/records', { records: [{ value: 'x'.repeat(50) }] });
    await sweepRetention();
    const described = await http.get('/v1/topics/small');
    const { logStartOffset, highWatermark } = described.body.partitions[0];
    expect(highWatermark).toBe(5);
    expect(logStartOffset).toBeGreaterThanOrEqual(3);
    const rest = await http.get(`/v1/topics/small/partitions/0/records?offset=${logStartOffset}`);
    expect(rest.body.records).toHaveLength(5 - logStartOffset);
  });

  it("purges a deleted topic's batches and segments without touching the new topic of that name", async () => {
    await http.post('/v1/topics', { name: 'gone', partitions: 2 });
    await http.post('/v1/topics/gone/records', { records: [{ value: 'g'.repeat(5000), partition: 1 }] });
    const segmentsBefore = await segmentCount();
    await http.delete('/v1/topics/gone');
    await http.post('/v1/topics', { name: 'gone', partitions: 1 });
    await http.post('/v1/topics/gone/records', { records: [{ value: 'new' }] });
    const report = await sweepRetention();
    expect(report.deletedTopicsPurged).toBe(1);
    expect(await segmentCount()).toBe(segmentsBefore - 1);
    const fetched = await http.get('/v1/topics/gone/partitions/0/records?offset=0');
    expect(fetched.body.records.map((r: { value: string }) => r.value)).toEqual(['new']);
  });
});
