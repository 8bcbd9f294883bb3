/**
 * Kafka's `snappy` codec. Java producers (snappy-java's SnappyOutputStream)
 * write the "xerial" framing: a 16-byte header (magic 0x82 "SNAPPY" 0x00,
 * version 1, min compatible version 1) followed by chunks of
 * int32-big-endian length + raw Snappy block, each block at most 32 KiB of
 * input. Other clients (librdkafka, KafkaJS codecs) may send one raw Snappy
 * block. We write xerial (what Java consumers expect) and read both.
 *
 * The raw block codec is snappyjs: pure JS, no native binary, sync API.
 */
import { compress as snappyCompressBlock, uncompress as snappyUncompressBlock } from 'snappyjs';

const XERIAL_MAGIC = [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00] as const;
const XERIAL_HEADER_SIZE = 16;
const XERIAL_VERSION = 1;
const XERIAL_MIN_COMPATIBLE_VERSION = 1;
/** snappy-java's default block size. */
const XERIAL_BLOCK_SIZE = 32 * 1024;

function hasXerialHeader(data: Uint8Array): boolean {
  if (data.length < XERIAL_HEADER_SIZE) return false;
  for (let i = 0; i < XERIAL_MAGIC.length; i++) if (data[i] !== XERIAL_MAGIC[i]) return false;
  return true;
}

/** Compresses `data` in snappy-java's xerial framing. */
export function snappyCompressXerial(data: Uint8Array): Buffer {
  const blocks: Uint8Array[] = [];
  let total = XERIAL_HEADER_SIZE;
  for (let start = 0; start < data.length; start += XERIAL_BLOCK_SIZE) {
    const block = snappyCompressBlock(data.subarray(start, Math.min(start + XERIAL_BLOCK_SIZE, data.length)));
    blocks.push(block);
    total += 4 + block.length;
  }
  const out = Buffer.allocUnsafe(total);
  out.set(XERIAL_MAGIC, 0);
  out.writeInt32BE(XERIAL_VERSION, 8);
  out.writeInt32BE(XERIAL_MIN_COMPATIBLE_VERSION, 12);
  let pos = XERIAL_HEADER_SIZE;
  for (const block of blocks) {
    out.writeInt32BE(block.length, pos);
    out.set(block, pos + 4);
    pos += 4 + block.length;
  }
  return out;
}

/** Decompresses xerial-framed or raw Snappy. Throws Error on malformed input. */
export function snappyDecompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (!hasXerialHeader(data)) return uncompressBlock(data, maxOutputBytes);
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Uint8Array[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < view.length) {
    if (pos + 4 > view.length) throw new Error('truncated xerial snappy chunk length');
    const length = view.readInt32BE(pos);
    pos += 4;
    if (length < 0 || pos + length > view.length) throw new Error(`xerial snappy chunk length ${length} runs past the data`);
    const part = uncompressBlock(view.subarray(pos, pos + length), maxOutputBytes - total);
    parts.push(part);
    total += part.length;
    pos += length;
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, total);
}

function uncompressBlock(block: Uint8Array, maxOutputBytes: number): Uint8Array {
  try {
    return snappyUncompressBlock(block, maxOutputBytes);
  } catch (error) {
    // snappyjs throws plain Errors for bad input and for our size cap alike.
    throw new Error(`invalid snappy data: ${(error as Error).message}`);
  }
}
