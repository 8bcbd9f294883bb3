/**
 * Typed errors for record-batch decoding and encoding.
 *
 * `code` uses Kafka's error names so the log can map them straight onto a
 * Produce/Fetch response error code without string matching.
 */

export type RecordsErrorCode = 'CORRUPT_MESSAGE' | 'UNSUPPORTED_COMPRESSION_TYPE';

export abstract class RecordsError extends Error {
  abstract readonly code: RecordsErrorCode;
}

/** Where in the input a problem was found, so an operator can find the bad bytes. */
export interface CorruptionLocation {
  /** Base offset of the batch, when its header was readable. */
  baseOffset?: number;
  /** Byte position in the buffer handed to the decoder (or in the decompressed records, see `inDecompressedRecords`). */
  position: number;
  /** True when `position` counts bytes of the decompressed records section rather than of the input. */
  inDecompressedRecords?: boolean;
}

/** Bytes that are not a valid Kafka v2 record batch: truncated, bad CRC, bad varint, trailing bytes... */
export class CorruptRecordError extends RecordsError {
  readonly code = 'CORRUPT_MESSAGE' as const;
  readonly baseOffset: number | undefined;
  readonly position: number;

  constructor(detail: string, location: CorruptionLocation) {
    const batch = location.baseOffset === undefined ? 'record batch' : `record batch with base offset ${location.baseOffset}`;
    const where = location.inDecompressedRecords ? `byte ${location.position} of its decompressed records` : `byte ${location.position}`;
    super(`Corrupt ${batch} at ${where}: ${detail}`);
    this.name = 'CorruptRecordError';
    this.baseOffset = location.baseOffset;
    this.position = location.position;
  }
}

/** A compression codec id this build cannot read or write (ids 5-7, or a codec missing at run time). */
export class UnsupportedCompressionError extends RecordsError {
  readonly code = 'UNSUPPORTED_COMPRESSION_TYPE' as const;
  readonly codecId: number;

  constructor(codecId: number, detail?: string) {
    super(`Unsupported compression codec id ${codecId}${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedCompressionError';
    this.codecId = codecId;
  }
}
