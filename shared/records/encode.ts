/**
 * Single-pass RecordBatch v2 encoder. Sizes are computed first, then every
 * byte is written once into one preallocated Buffer (for `none`, the final
 * batch buffer itself). Output is byte-identical to KafkaJS for the same
 * fields, records and header order.
 */
import { writeInt64 } from './bytes';
import { codecIdOf, compress } from './compression';
import { computeBatchCrc } from './header';
import {
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_SEQUENCE_AT,
  BATCH_LENGTH_AT,
  CONTROL_BIT,
  CRC_AT,
  FIRST_TIMESTAMP_AT,
  LAST_OFFSET_DELTA_AT,
  LOG_OVERHEAD,
  MAGIC_AT,
  MAGIC_V2,
  MAX_TIMESTAMP_AT,
  PARTITION_LEADER_EPOCH_AT,
  PRODUCER_EPOCH_AT,
  PRODUCER_ID_AT,
  RECORD_COUNT_AT,
  RECORDS_AT,
  TIMESTAMP_TYPE_BIT,
  TRANSACTIONAL_BIT,
} from './layout';
import type { RecordBatchInput, RecordHeader, RecordInput } from './types';
import { sizeOfVarint, sizeOfVarlongDelta, writeVarint, writeVarlongDelta } from './varint';

const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const NO_HEADERS: readonly RecordHeader[] = [];

function requireInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
  return value;
}

function requireSafeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be a safe integer, got ${value}`);
  return value;
}

function requireBytes(name: string, value: unknown): void {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array or null`);
}

/**
 * Encodes one RecordBatch v2. Synchronous for every codec. Throws RangeError /
 * TypeError for inputs Kafka cannot represent (offset deltas beyond int32,
 * unsafe timestamps, keys that are not bytes...).
 */
export function encodeRecordBatch(input: RecordBatchInput): Buffer {
  const records = input.records;
  const count = records.length;
  const baseOffset = requireSafeInteger('baseOffset', input.baseOffset ?? 0);
  const compression = input.compression ?? 'none';
  const codecId = codecIdOf(compression);
  if (codecId === undefined) throw new RangeError(`unknown compression type ${String(compression)}`);

  // Pass 1: absolute timestamps and offset deltas, and their extremes for the defaults.
  const timestamps = new Float64Array(count);
  const offsetDeltas = new Int32Array(count);
  let now: number | undefined;
  let minTimestamp = Infinity;
  let maxTimestamp = -Infinity;
  let maxOffsetDelta = -1;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const timestamp = record.timestamp ?? (now ??= Date.now());
    // Per-record checks are inline so that no error text is built unless one fails.
    if (!Number.isSafeInteger(timestamp)) requireSafeInteger(`records[${i}].timestamp`, timestamp);
    timestamps[i] = timestamp;
    if (timestamp < minTimestamp) minTimestamp = timestamp;
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const offsetDelta = record.offset === undefined ? i : record.offset - baseOffset;
    if ((offsetDelta | 0) !== offsetDelta) requireInteger(`records[${i}].offset - baseOffset`, offsetDelta, INT32_MIN, INT32_MAX);
    offsetDeltas[i] = offsetDelta;
    if (offsetDelta > maxOffsetDelta) maxOffsetDelta = offsetDelta;
  }
  const firstTimestamp = requireSafeInteger('firstTimestamp', input.firstTimestamp ?? (count > 0 ? minTimestamp : -1));
  const batchMaxTimestamp = requireSafeInteger('maxTimestamp', input.maxTimestamp ?? (count > 0 ? maxTimestamp : -1));
  const lastOffsetDelta = requireInteger('lastOffsetDelta', input.lastOffsetDelta ?? maxOffsetDelta, INT32_MIN, INT32_MAX);

  // Pass 2: exact size of every record body (UTF-8 lengths of header keys kept for pass 3).
  const bodySizes = new Int32Array(count);
  const headerKeyLengths: number[] = [];
  let recordsSize = 0;
  for (let i = 0; i < count; i++) {
    const record = records[i]!;
    const key = record.key ?? null;
    const value = record.value;
    const headers = record.headers ?? NO_HEADERS;
    let size = 1 + sizeOfVarlongDelta(timestamps[i]!, firstTimestamp) + sizeOfVarint(offsetDeltas[i]!);
    if (key === null) size += 1;
    else {
      if (!(key instanceof Uint8Array)) requireBytes(`records[${i}].key`, key);
      size += sizeOfVarint(key.length) + key.length;
    }
    if (value === null) size += 1;
    else {
      if (!(value instanceof Uint8Array)) requireBytes(`records[${i}].value`, value);
      size += sizeOfVarint(value.length) + value.length;
    }
    size += sizeOfVarint(headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h]!;
      if (typeof header.key !== 'string') throw new TypeError(`records[${i}].headers[${h}].key must be a string`);
      const keyLength = Buffer.byteLength(header.key, 'utf8');
      headerKeyLengths.push(keyLength);
      size += sizeOfVarint(keyLength) + keyLength;
      if (header.value === null) size += 1;
      else {
        if (!(header.value instanceof Uint8Array)) requireBytes(`records[${i}].headers[${h}].value`, header.value);
        size += sizeOfVarint(header.value.length) + header.value.length;
      }
    }
    bodySizes[i] = size;
    recordsSize += sizeOfVarint(size) + size;
  }

  // Pass 3: write. Uncompressed records go straight into the batch buffer.
  let batch: Buffer;
  if (compression === 'none') {
    batch = Buffer.allocUnsafe(RECORDS_AT + recordsSize);
    writeRecords(batch, RECORDS_AT, records, timestamps, offsetDeltas, bodySizes, headerKeyLengths, firstTimestamp);
  } else {
    const recordsBuffer = Buffer.allocUnsafe(recordsSize);
    writeRecords(recordsBuffer, 0, records, timestamps, offsetDeltas, bodySizes, headerKeyLengths, firstTimestamp);
    const compressed = compress(compression, recordsBuffer);
    batch = Buffer.allocUnsafe(RECORDS_AT + compressed.length);
    batch.set(compressed, RECORDS_AT);
  }

  let attributes = codecId;
  if (input.timestampType === 'LogAppendTime') attributes |= TIMESTAMP_TYPE_BIT;
  if (input.isTransactional) attributes |= TRANSACTIONAL_BIT;
  if (input.isControl) attributes |= CONTROL_BIT;

  writeInt64(batch, BASE_OFFSET_AT, baseOffset);
  batch.writeInt32BE(batch.length - LOG_OVERHEAD, BATCH_LENGTH_AT);
  batch.writeInt32BE(
    requireInteger('partitionLeaderEpoch', input.partitionLeaderEpoch ?? -1, INT32_MIN, INT32_MAX),
    PARTITION_LEADER_EPOCH_AT,
  );
  batch[MAGIC_AT] = MAGIC_V2;
  batch.writeInt16BE(attributes, ATTRIBUTES_AT);
  batch.writeInt32BE(lastOffsetDelta, LAST_OFFSET_DELTA_AT);
  writeInt64(batch, FIRST_TIMESTAMP_AT, firstTimestamp);
  writeInt64(batch, MAX_TIMESTAMP_AT, batchMaxTimestamp);
  writeInt64(batch, PRODUCER_ID_AT, requireSafeInteger('producerId', input.producerId ?? -1));
  batch.writeInt16BE(requireInteger('producerEpoch', input.producerEpoch ?? -1, INT16_MIN, INT16_MAX), PRODUCER_EPOCH_AT);
  batch.writeInt32BE(requireInteger('baseSequence', input.baseSequence ?? -1, INT32_MIN, INT32_MAX), BASE_SEQUENCE_AT);
  batch.writeInt32BE(count, RECORD_COUNT_AT);
  batch.writeUInt32BE(computeBatchCrc(batch, 0, batch.length), CRC_AT);
  return batch;
}

/** Writes every record into buf from `pos` to its end; allocUnsafe memory, so every byte must be written. */
function writeRecords(
  buf: Buffer,
  pos: number,
  records: readonly RecordInput[],
  timestamps: Float64Array,
  offsetDeltas: Int32Array,
  bodySizes: Int32Array,
  headerKeyLengths: readonly number[],
  firstTimestamp: number,
): void {
  let headerIndex = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeVarint(buf, pos, bodySizes[i]!);
    buf[pos++] = 0; // record attributes: unused in v2
    pos = writeVarlongDelta(buf, pos, timestamps[i]!, firstTimestamp);
    pos = writeVarint(buf, pos, offsetDeltas[i]!);
    pos = writeNullableBytes(buf, pos, record.key ?? null);
    pos = writeNullableBytes(buf, pos, record.value);
    const headers = record.headers ?? NO_HEADERS;
    pos = writeVarint(buf, pos, headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h]!;
      const keyLength = headerKeyLengths[headerIndex++]!;
      pos = writeVarint(buf, pos, keyLength);
      buf.write(header.key, pos, keyLength, 'utf8');
      pos = writeNullableBytes(buf, pos + keyLength, header.value);
    }
  }
  // The sizes of pass 2 and the bytes of pass 3 must agree, or uninitialized memory would ship.
  if (pos !== buf.length) throw new Error(`internal error: records end at ${pos}, buffer is ${buf.length} bytes`);
}

function writeNullableBytes(buf: Buffer, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) {
    buf[pos] = 1; // zigzag(-1)
    return pos + 1;
  }
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}
