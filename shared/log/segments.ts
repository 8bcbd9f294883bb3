/**
 * Segment objects: the bytes of record batches too large to keep inline in DynamoDB. A produce
 * request writes at most one object holding all its large batches back to back (one PUT however
 * many partitions it touches), before the append commits. An object whose commit failed is
 * referenced by no chunk; it is found by listing `segments/<topicId>/` and asking the chunks
 * table's `bySegment` index (docs/storage.md), and removed with the topic's retention.
 */
import { randomUUID } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { segmentBucket } from '../storage/tables';
import { bucketName, s3Client } from '../runtime/aws';

export interface WrittenSegment {
  readonly key: string;
  /** Byte position of each part in the object, in the order given. */
  readonly positions: readonly number[];
}

export function segmentKey(topicId: string, createdAt: Date = new Date()): string {
  // Time first within the topic, so a sweep can list a topic's objects oldest first.
  return `${segmentBucket.segmentPrefix}${topicId}/${createdAt.toISOString().slice(0, 10)}/${createdAt.getTime()}-${randomUUID()}`;
}

export async function writeSegment(topicId: string, parts: readonly Buffer[]): Promise<WrittenSegment> {
  const key = segmentKey(topicId);
  const positions: number[] = [];
  let position = 0;
  for (const part of parts) {
    positions.push(position);
    position += part.length;
  }
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucketName(),
      Key: key,
      Body: parts.length === 1 ? parts[0] : Buffer.concat(parts, position),
      ContentType: 'application/vnd.kafka.record-batch',
      Metadata: { 'topic-id': topicId },
    }),
  );
  return { key, positions };
}

export interface ByteRange {
  readonly position: number;
  readonly length: number;
}

/** Reads one contiguous byte range of a segment object. */
export async function readSegmentRange(key: string, range: ByteRange): Promise<Buffer> {
  const result = await s3Client().send(
    new GetObjectCommand({
      Bucket: bucketName(),
      Key: key,
      Range: `bytes=${range.position}-${range.position + range.length - 1}`,
    }),
  );
  const bytes = await result.Body!.transformToByteArray();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
