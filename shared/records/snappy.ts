/**
 * Kafka's `snappy` codec. Java producers (snappy-java's SnappyOutputStream)
 * write the "xerial" framing: a 16-byte header (magic 0x82 "SNAPPY" 0x00,
 * version 1, min compatible version 1) followed by chunks of
 * int32-big-endian length + raw Snappy block, each block at most 32 KiB of
 * input. Other clients (librdkafka, KafkaJS codecs) may send one raw Snappy
 * block. We write xerial (what Java consumers expect) and read both.
 *
 * Blocks are compressed by snappyjs (pure JS, no native binary, sync API) and decompressed by
 * our own decoder below: snappyjs's decoder trusts a literal's 4-byte length, which can come
 * out negative and send it backwards through the input, hanging on corrupt data (found by the
 * fuzz property in test/records). Ours checks every length and offset against both buffers, and
 * every step consumes input, so it runs in time linear in input plus output.
 */
import { compress as snappyCompressBlock } from 'snappyjs';

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

/**
 * The most a Snappy block can expand: its densest element, a copy with a 2-byte offset, writes
 * 64 bytes from 3. A block claiming more than that for its size is corrupt, and is refused before
 * anything is allocated.
 */
const SNAPPY_MAX_EXPANSION = 22;

class SnappyFormatError extends Error {
  constructor(detail: string) {
    super(`invalid snappy data: ${detail}`);
  }
}

/** Decodes one raw Snappy block (https://github.com/google/snappy/blob/main/format_description.txt). */
export function uncompressBlock(block: Uint8Array, maxOutputBytes: number): Uint8Array {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= block.length || shift > 28) throw new SnappyFormatError('bad length preamble');
    const byte = block[pos++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  if (length > maxOutputBytes) throw new SnappyFormatError(`${length} bytes is more than the ${maxOutputBytes} allowed`);
  if (length > block.length * SNAPPY_MAX_EXPANSION + 64) {
    throw new SnappyFormatError(`a ${block.length}-byte block cannot hold ${length} bytes`);
  }
  const out = new Uint8Array(length);
  let outPos = 0;
  while (pos < block.length) {
    const tag = block[pos++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const lengthBytes = len - 59;
          if (pos + lengthBytes > block.length) throw new SnappyFormatError('truncated literal length');
          len = 0;
          for (let i = 0; i < lengthBytes; i++) len += block[pos + i]! * 2 ** (8 * i);
          pos += lengthBytes;
        }
        len += 1;
        if (pos + len > block.length || outPos + len > length) throw new SnappyFormatError('literal runs past the data');
        out.set(block.subarray(pos, pos + len), outPos);
        pos += len;
        outPos += len;
        continue;
      }
      case 1:
        if (pos + 1 > block.length) throw new SnappyFormatError('truncated copy');
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | block[pos]!;
        pos += 1;
        break;
      case 2:
        if (pos + 2 > block.length) throw new SnappyFormatError('truncated copy');
        len = (tag >>> 2) + 1;
        offset = block[pos]! | (block[pos + 1]! << 8);
        pos += 2;
        break;
      default:
        if (pos + 4 > block.length) throw new SnappyFormatError('truncated copy');
        len = (tag >>> 2) + 1;
        offset = block[pos]! + block[pos + 1]! * 2 ** 8 + block[pos + 2]! * 2 ** 16 + block[pos + 3]! * 2 ** 24;
        pos += 4;
    }
    if (offset === 0 || offset > outPos || outPos + len > length) throw new SnappyFormatError('copy outside the output');
    if (offset >= len) {
      out.copyWithin(outPos, outPos - offset, outPos - offset + len);
    } else {
      // Overlapping (offset < len repeats a pattern): byte by byte, as the format defines it.
      for (let i = 0; i < len; i++) out[outPos + i] = out[outPos - offset + i]!;
    }
    outPos += len;
  }
  if (outPos !== length) throw new SnappyFormatError(`decoded ${outPos} bytes, the block declared ${length}`);
  return out;
}
