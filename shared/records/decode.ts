/**
 * RecordBatch v2 decoder: direct offset reads over one Buffer, every length
 * bounds-checked, so truncated or random input throws CorruptRecordError
 * (naming the batch and byte position) instead of hanging or returning
 * garbage. Keys and values are zero-copy Uint8Array views (see BatchRecord).
 */
import { asBuffer } from './bytes';
import { decompress } from './compression';
import { CorruptRecordError, RecordsError } from './errors';
import { parseBatchHeader, requireWholeBatch, verifyBatchCrc } from './header';
import { MIN_RECORD_SIZE, RECORDS_AT } from './layout';
import type { BatchRecord, DecodeOptions, RecordBatch, RecordBatchHeader, RecordHeader } from './types';
import { type ByteCursor, readVarint, readVarlongPlus } from './varint';

const DEFAULT_MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024;

/** Decodes exactly one batch; bytes after it are an error. */
export function decodeRecordBatch(bytes: Uint8Array, options: DecodeOptions = {}): RecordBatch {
  const buf = asBuffer(bytes);
  const { batch, end } = decodeBatchAt(buf, 0, options);
  if (end !== buf.length) {
    throw new CorruptRecordError(`${buf.length - end} bytes follow the batch`, { baseOffset: batch.baseOffset, position: end });
  }
  return batch;
}

/** Decodes concatenated batches (a log segment, a produce request's records). A partial last batch is an error. */
export function decodeRecordBatches(bytes: Uint8Array, options: DecodeOptions = {}): RecordBatch[] {
  const buf = asBuffer(bytes);
  const batches: RecordBatch[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const { batch, end } = decodeBatchAt(buf, pos, options);
    batches.push(batch);
    pos = end;
  }
  return batches;
}

function decodeBatchAt(buf: Buffer, start: number, options: DecodeOptions): { batch: RecordBatch; end: number } {
  const header = parseBatchHeader(buf, start);
  const end = start + header.sizeInBytes;
  if (options.verifyCrc === false) requireWholeBatch(buf, start, header);
  else verifyBatchCrc(buf, start, header);
  let cursor: RecordsCursor;
  if (header.compression === 'none') {
    cursor = new RecordsCursor(buf, start + RECORDS_AT, end, header.baseOffset, false);
  } else {
    let records: Buffer;
    try {
      const maxBytes = options.maxUncompressedBytes ?? DEFAULT_MAX_UNCOMPRESSED_BYTES;
      records = asBuffer(decompress(header.compression, buf.subarray(start + RECORDS_AT, end), maxBytes));
    } catch (error) {
      if (error instanceof RecordsError) throw error;
      throw new CorruptRecordError(`cannot decompress ${header.compression} records: ${(error as Error).message}`, {
        baseOffset: header.baseOffset,
        position: start + RECORDS_AT,
      });
    }
    cursor = new RecordsCursor(records, 0, records.length, header.baseOffset, true);
  }
  const batch: RecordBatch = {
    baseOffset: header.baseOffset,
    partitionLeaderEpoch: header.partitionLeaderEpoch,
    compression: header.compression,
    timestampType: header.timestampType,
    isTransactional: header.isTransactional,
    isControl: header.isControl,
    lastOffsetDelta: header.lastOffsetDelta,
    firstTimestamp: header.firstTimestamp,
    maxTimestamp: header.maxTimestamp,
    producerId: header.producerId,
    producerEpoch: header.producerEpoch,
    baseSequence: header.baseSequence,
    records: readRecords(cursor, header),
  };
  return { batch, end };
}

/** Position and bounds within one records section; its errors name the batch and the byte position. */
class RecordsCursor implements ByteCursor {
  constructor(
    readonly bytes: Buffer,
    public pos: number,
    public end: number,
    private readonly baseOffset: number,
    private readonly decompressed: boolean,
  ) {}

  fail(detail: string): never {
    throw new CorruptRecordError(detail, {
      baseOffset: this.baseOffset,
      position: this.pos,
      inDecompressedRecords: this.decompressed,
    });
  }
}

function readRecords(c: RecordsCursor, header: RecordBatchHeader): BatchRecord[] {
  const count = header.recordCount;
  // Checked before allocating anything, so a garbage count cannot make us allocate or loop for long.
  if (count > (c.end - c.pos) / MIN_RECORD_SIZE) c.fail(`record count ${count} cannot fit in ${c.end - c.pos} bytes`);
  const logAppendTime = header.timestampType === 'LogAppendTime' ? header.maxTimestamp : null;
  const records: BatchRecord[] = [];
  for (let i = 0; i < count; i++) records.push(readRecord(c, header.baseOffset, header.firstTimestamp, logAppendTime));
  if (c.pos !== c.end) c.fail(`${c.end - c.pos} bytes follow the last of ${count} records`);
  return records;
}

function readRecord(c: RecordsCursor, baseOffset: number, firstTimestamp: number, logAppendTime: number | null): BatchRecord {
  const length = readVarint(c);
  const bodyStart = c.pos;
  if (length < MIN_RECORD_SIZE - 1 || length > c.end - bodyStart)
    c.fail(`record length ${length} does not fit in ${c.end - bodyStart} bytes`);
  const sectionEnd = c.end;
  c.end = bodyStart + length; // every read below stays inside this record
  c.pos++; // record attributes: unused in v2
  const createTime = readVarlongPlus(c, firstTimestamp);
  const offsetDelta = readVarint(c);
  const offset = baseOffset + offsetDelta;
  if (!Number.isSafeInteger(offset)) c.fail('record offset outside the JS safe integer range');
  const key = readNullableBytes(c);
  const value = readNullableBytes(c);
  const headerCount = readVarint(c);
  if (headerCount < 0 || headerCount > (c.end - c.pos) / 2) c.fail(`header count ${headerCount} does not fit in the record`);
  const headers: RecordHeader[] = [];
  for (let h = 0; h < headerCount; h++) {
    const keyLength = readVarint(c);
    if (keyLength < 0) c.fail('header key is null');
    if (keyLength > c.end - c.pos) c.fail(`header key length ${keyLength} runs past the record`);
    const headerKey = decodeUtf8(c.bytes, c.pos, c.pos + keyLength);
    c.pos += keyLength;
    headers.push({ key: headerKey, value: readNullableBytes(c) });
  }
  if (c.pos !== c.end) c.fail(`record declares ${length} bytes but its fields end ${c.end - c.pos} bytes early`);
  c.end = sectionEnd;
  return { offset, timestamp: logAppendTime ?? createTime, key, value, headers };
}

/** Header keys are short and nearly always ASCII: building those by hand is ~2x cheaper than Buffer#toString. */
const SHORT_KEY_BYTES = 16;

function decodeUtf8(bytes: Buffer, start: number, end: number): string {
  if (end - start > SHORT_KEY_BYTES) return bytes.toString('utf8', start, end);
  let text = '';
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    if (byte >= 0x80) return bytes.toString('utf8', start, end);
    text += String.fromCharCode(byte);
  }
  return text;
}

function readNullableBytes(c: RecordsCursor): Uint8Array | null {
  const length = readVarint(c);
  if (length === -1) return null;
  if (length < -1 || length > c.end - c.pos) c.fail(`byte length ${length} runs past the record`);
  // A plain Uint8Array view: half the cost of Buffer#subarray, and no copy.
  const view = new Uint8Array(c.bytes.buffer, c.bytes.byteOffset + c.pos, length);
  c.pos += length;
  return view;
}
