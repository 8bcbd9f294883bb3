/**
 * Kafka's `zstd` codec: one standard Zstandard frame.
 *
 * Node >= 22.15 (and Lambda's nodejs22.x runtime) has zstd built into zlib,
 * so production needs no package and no native binary. On older Node (20,
 * which this repo supports for local runs):
 *  - decompression uses fzstd, a pure-JS decoder;
 *  - compression writes a valid zstd frame of raw (stored) blocks. Every zstd
 *    reader accepts it; it just does not shrink the data. There is no
 *    maintained pure-JS zstd *encoder*, and wasm builds need their .wasm
 *    file shipped next to the bundle, which is not worth it for a fallback
 *    that only local development on Node 20 hits.
 * `zstdImplementation` tells which path this process uses.
 */
import * as zlib from 'node:zlib';
import { decompress as fzstdDecompress } from 'fzstd';

interface NodeZstd {
  zstdCompressSync(data: Uint8Array): Buffer;
  zstdDecompressSync(data: Uint8Array, options: { maxOutputLength: number }): Buffer;
}

// @types/node 20 does not declare the zstd functions; probe for them at run time.
const nodeZstd: NodeZstd | null = typeof (zlib as Partial<NodeZstd>).zstdCompressSync === 'function' ? (zlib as unknown as NodeZstd) : null;

export const zstdImplementation: 'node-zlib' | 'stored-frames+fzstd' = nodeZstd ? 'node-zlib' : 'stored-frames+fzstd';

const ZSTD_MAGIC = 0xfd2fb528;
/** Largest raw block: Block_Maximum_Size is min(window, 128 KiB). */
const MAX_RAW_BLOCK = 128 * 1024;

export function zstdCompress(data: Uint8Array): Uint8Array {
  return nodeZstd ? nodeZstd.zstdCompressSync(data) : zstdStoredFrame(data);
}

/**
 * A zstd frame holding `data` in raw blocks (RFC 8878 §3.1.1): single-segment
 * frame header with a 4-byte content size, no checksum.
 */
export function zstdStoredFrame(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / MAX_RAW_BLOCK));
  const out = Buffer.allocUnsafe(4 + 1 + 4 + blocks * 3 + data.length);
  out.writeUInt32LE(ZSTD_MAGIC, 0);
  // Frame_Header_Descriptor: Frame_Content_Size_flag = 2 (4 bytes), Single_Segment_flag = 1.
  out[4] = (2 << 6) | (1 << 5);
  out.writeUInt32LE(data.length, 5);
  let pos = 9;
  for (let i = 0; i < blocks; i++) {
    const start = i * MAX_RAW_BLOCK;
    const size = Math.min(MAX_RAW_BLOCK, data.length - start);
    const isLast = i === blocks - 1 ? 1 : 0;
    // Block_Header (3 bytes LE): Last_Block bit, Block_Type 0 (raw) in bits 1-2, Block_Size in bits 3-23.
    out.writeUIntLE((size << 3) | isLast, pos, 3);
    out.set(data.subarray(start, start + size), pos + 3);
    pos += 3 + size;
  }
  return out;
}

/** Decompresses one or more zstd frames. Throws Error on malformed input or when the output would exceed the cap. */
export function zstdDecompress(data: Uint8Array, maxOutputBytes: number): Uint8Array {
  if (nodeZstd) return nodeZstd.zstdDecompressSync(data, { maxOutputLength: maxOutputBytes });
  const declared = declaredContentSize(data);
  if (declared !== null && declared > maxOutputBytes) {
    throw new Error(`zstd frame declares ${declared} bytes, more than the ${maxOutputBytes} allowed`);
  }
  const out = fzstdDecompress(data);
  if (out.length > maxOutputBytes) throw new Error(`zstd data decompresses to more than ${maxOutputBytes} bytes`);
  return out;
}

/** Frame_Content_Size of the first frame, if present, so fzstd is not asked to allocate a crafted huge size. */
function declaredContentSize(data: Uint8Array): number | null {
  if (data.length < 5) return null;
  const descriptor = data[4]!;
  const fcsFlag = descriptor >>> 6;
  const singleSegment = (descriptor >>> 5) & 1;
  const dictIdBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (fcsBytes === 0) return null;
  const at = 5 + (singleSegment ? 0 : 1) + dictIdBytes;
  if (at + fcsBytes > data.length) return null;
  let size = 0;
  for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + data[at + i]!;
  return fcsBytes === 2 ? size + 256 : size;
}
