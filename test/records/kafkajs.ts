/**
 * KafkaJS internals used as a reference implementation in tests and the
 * benchmark only (devDependency; never imported by shared/).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface KafkajsEncoder {
  buffer: Buffer;
  writeVarInt(value: number): KafkajsEncoder;
  writeVarLong(value: unknown): KafkajsEncoder;
}

export interface KafkajsDecodedBatch {
  firstOffset: string;
  firstTimestamp: string;
  maxTimestamp: string;
  timestampType: number;
  producerId: string;
  producerEpoch: number;
  firstSequence: number;
  partitionLeaderEpoch: number;
  lastOffsetDelta: number;
  inTransaction: boolean;
  isControlBatch: boolean;
  records: Array<{
    offset: string;
    timestamp: string;
    key: Buffer | null;
    value: Buffer | null;
    headers: Record<string, Buffer | Buffer[]>;
  }>;
}

export interface KafkajsRecordBatchInput {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp: number;
  maxTimestamp: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records: unknown[];
}

export const kafkajs = {
  RecordBatch: require('kafkajs/src/protocol/recordBatch/v0').RecordBatch as (input: KafkajsRecordBatchInput) => Promise<KafkajsEncoder>,
  Record: require('kafkajs/src/protocol/recordBatch/record/v0') as (input: {
    offsetDelta: number;
    timestampDelta: number;
    key: Buffer | null;
    value: Buffer | null;
    headers?: Record<string, Buffer | Buffer[]>;
  }) => unknown,
  decodeRecordBatch: require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<KafkajsDecodedBatch>,
  Decoder: require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown,
  Encoder: require('kafkajs/src/protocol/encoder') as new () => KafkajsEncoder,
  Long: require('kafkajs/src/utils/long') as { fromValue(value: unknown): unknown },
  crc32C: require('kafkajs/src/protocol/recordBatch/crc32C') as (buffer: Buffer) => number,
  murmur2: require('kafkajs/src/producer/partitioners/default/murmur2') as (key: Buffer | string) => number,
  DefaultPartitioner: require('kafkajs/src/producer/partitioners/default') as () => (args: {
    topic: string;
    partitionMetadata: Array<{ partitionId: number; leader: number }>;
    message: { key?: Buffer | string | null; partition?: number | null };
  }) => number,
};
