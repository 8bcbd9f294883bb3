/**
 * Compression of a batch's records section, by codec. All codecs are
 * synchronous so a batch is encoded in one pass on the request path.
 *
 *   gzip   Node's zlib (default level/options: byte-identical to KafkaJS).
 *   snappy snappyjs (pure JS), xerial framing on write, xerial or raw on read.
 *   lz4    ./lz4 (LZ4 frame, Kafka-compatible framing).
 *   zstd   Node's zlib where it has zstd (>= 22.15), else ./zstd's fallback.
 *
 * Decompression is capped at `maxOutputBytes` and reports any failure as a
 * plain Error; the batch decoder turns it into a CorruptRecordError that names
 * the batch.
 */
import * as zlib from 'node:zlib';
import { UnsupportedCompressionError } from './errors';
import { COMPRESSION_BY_CODEC_ID, CODEC_ID } from './layout';
import { lz4CompressFrame, lz4DecompressFrames } from './lz4';
import { snappyCompressXerial, snappyDecompress } from './snappy';
import type { CompressionType } from './types';
import { zstdCompress, zstdDecompress } from './zstd';

export const COMPRESSION_TYPES: readonly CompressionType[] = COMPRESSION_BY_CODEC_ID;

export function isCompressionType(value: unknown): value is CompressionType {
  return typeof value === 'string' && (COMPRESSION_TYPES as readonly string[]).includes(value);
}

/** The attributes bits 0-2 value for a codec. */
export function codecIdOf(type: CompressionType): number {
  return CODEC_ID[type];
}

/** The codec named by attributes bits 0-2; ids 5-7 are not Kafka codecs. */
export function compressionTypeOf(codecId: number): CompressionType {
  const type = COMPRESSION_BY_CODEC_ID[codecId];
  if (type === undefined) throw new UnsupportedCompressionError(codecId);
  return type;
}

export function compress(type: CompressionType, data: Uint8Array): Uint8Array {
  switch (type) {
    case 'none':
      return data;
    case 'gzip':
      return zlib.gzipSync(data);
    case 'snappy':
      return snappyCompressXerial(data);
    case 'lz4':
      return lz4CompressFrame(data);
    case 'zstd':
      return zstdCompress(data);
    default:
      throw new UnsupportedCompressionError(-1, `unknown compression type ${String(type)}`);
  }
}

export function decompress(type: CompressionType, data: Uint8Array, maxOutputBytes: number): Uint8Array {
  switch (type) {
    case 'none':
      return data;
    case 'gzip':
      // unzip also accepts zlib-wrapped deflate, as KafkaJS's decoder does.
      return zlib.unzipSync(data, { maxOutputLength: maxOutputBytes });
    case 'snappy':
      return snappyDecompress(data, maxOutputBytes);
    case 'lz4':
      return lz4DecompressFrames(data, maxOutputBytes);
    case 'zstd':
      return zstdDecompress(data, maxOutputBytes);
    default:
      throw new UnsupportedCompressionError(-1, `unknown compression type ${String(type)}`);
  }
}
