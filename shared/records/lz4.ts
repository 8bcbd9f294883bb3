/**
 * LZ4 frame format (github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md), the
 * wire format of Kafka's `lz4` codec.
 *
 * Written here rather than taken from npm because the pure-JS package
 * (lz4js) writes frames without the block-independence flag, which Kafka's
 * Java client rejects ("Dependent block stream is unsupported"), and the
 * other packages are native or need a separate .wasm file in the bundle.
 *
 * Compression writes exactly the framing Kafka's Lz4BlockOutputStream does:
 * FLG 0x60 (version 1, independent blocks, no checksums), BD 0x40 (64 KiB
 * blocks), a correct header checksum, each block compressed on its own,
 * stored raw when it does not shrink. Decompression reads any LZ4 frame
 * (dependent blocks, block/content checksums, content size, concatenated and
 * skippable frames), with every read and back-reference bounds-checked.
 */
import { xxhash32 } from './xxhash32';

const FRAME_MAGIC = 0x184d2204;
const SKIPPABLE_MAGIC_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const KAFKA_FLG = 0x60;
const KAFKA_BD = 0x40;
const KAFKA_BLOCK_SIZE = 64 * 1024;
const UNCOMPRESSED_BLOCK_BIT = 0x80000000;

// Block format constraints (lz4_Block_format.md).
const MIN_MATCH = 4;
/** The last 5 bytes of a block are always literals. */
const LAST_LITERALS = 5;
/** A match must start at least 12 bytes before the end of the block. */
const MF_LIMIT = 12;
const MAX_OFFSET = 0xffff;
const HASH_LOG = 12;

/** The fixed frame header Kafka writes; its last byte is the header checksum of FLG and BD. */
const KAFKA_FRAME_HEADER = (() => {
  const header = new Uint8Array(7);
  writeU32LE(header, 0, FRAME_MAGIC);
  header[4] = KAFKA_FLG;
  header[5] = KAFKA_BD;
  header[6] = (xxhash32(header, 4, 6) >>> 8) & 0xff;
  return header;
})();

function readU32LE(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24)) >>> 0;
}

function writeU32LE(b: Uint8Array, i: number, v: number): void {
  b[i] = v & 0xff;
  b[i + 1] = (v >>> 8) & 0xff;
  b[i + 2] = (v >>> 16) & 0xff;
  b[i + 3] = (v >>> 24) & 0xff;
}

function compressedBlockBound(length: number): number {
  return length + Math.floor(length / 255) + 16;
}

/** Compresses `data` into one LZ4 frame, framed as Kafka's Java producer does. */
export function lz4CompressFrame(data: Uint8Array): Uint8Array {
  const blocks = Math.ceil(data.length / KAFKA_BLOCK_SIZE);
  const out = new Uint8Array(KAFKA_FRAME_HEADER.length + blocks * 4 + compressedBlockBound(data.length) + blocks * 16 + 4);
  out.set(KAFKA_FRAME_HEADER, 0);
  let op = KAFKA_FRAME_HEADER.length;
  const table = new Int32Array(1 << HASH_LOG);
  for (let start = 0; start < data.length; start += KAFKA_BLOCK_SIZE) {
    const end = Math.min(start + KAFKA_BLOCK_SIZE, data.length);
    const blockStart = op + 4;
    const compressedEnd = compressBlock(data, start, end, out, blockStart, table);
    const compressedSize = compressedEnd - blockStart;
    if (compressedSize < end - start) {
      writeU32LE(out, op, compressedSize);
      op = compressedEnd;
    } else {
      writeU32LE(out, op, (UNCOMPRESSED_BLOCK_BIT | (end - start)) >>> 0);
      out.set(data.subarray(start, end), blockStart);
      op = blockStart + (end - start);
    }
  }
  writeU32LE(out, op, 0); // end mark
  op += 4;
  return out.subarray(0, op);
}

function hashOf(sequence: number): number {
  return Math.imul(sequence, 2654435761) >>> (32 - HASH_LOG);
}

/**
 * Greedy LZ4 block compression of src[start, end) into dst at `op`, using
 * only matches inside the block (so blocks are independent). Returns the end
 * position in dst. The hash table holds absolute positions in src.
 */
function compressBlock(src: Uint8Array, start: number, end: number, dst: Uint8Array, op: number, table: Int32Array): number {
  let anchor = start;
  if (end - start >= MF_LIMIT + 1) {
    table.fill(-1);
    const lastMatchStart = end - MF_LIMIT;
    const matchEndLimit = end - LAST_LITERALS;
    let ip = start;
    let misses = 0;
    while (ip <= lastMatchStart) {
      const sequence = readU32LE(src, ip);
      const slot = hashOf(sequence);
      let ref = table[slot]!;
      table[slot] = ip;
      if (ref < start || ip - ref > MAX_OFFSET || readU32LE(src, ref) !== sequence) {
        // Skip faster through data that does not compress (LZ4's acceleration heuristic).
        ip += 1 + (misses++ >> 6);
        continue;
      }
      misses = 0;
      while (ip > anchor && ref > start && src[ip - 1] === src[ref - 1]) {
        ip--;
        ref--;
      }
      let matchEnd = ip + MIN_MATCH;
      let refEnd = ref + MIN_MATCH;
      while (matchEnd < matchEndLimit && src[matchEnd] === src[refEnd]) {
        matchEnd++;
        refEnd++;
      }
      op = writeSequence(dst, op, src, anchor, ip - anchor, ip - ref, matchEnd - ip);
      ip = matchEnd;
      anchor = ip;
      // Index a position inside the match so the next search can find it.
      if (ip - 2 >= start && ip + 2 <= end) table[hashOf(readU32LE(src, ip - 2))] = ip - 2;
    }
  }
  return writeLastLiterals(dst, op, src, anchor, end - anchor);
}

function writeLength(dst: Uint8Array, op: number, extra: number): number {
  while (extra >= 255) {
    dst[op++] = 255;
    extra -= 255;
  }
  dst[op++] = extra;
  return op;
}

function writeSequence(
  dst: Uint8Array,
  op: number,
  src: Uint8Array,
  literalsAt: number,
  literalCount: number,
  offset: number,
  matchLength: number,
): number {
  const matchCode = matchLength - MIN_MATCH;
  dst[op++] = ((literalCount >= 15 ? 15 : literalCount) << 4) | (matchCode >= 15 ? 15 : matchCode);
  if (literalCount >= 15) op = writeLength(dst, op, literalCount - 15);
  for (let i = 0; i < literalCount; i++) dst[op++] = src[literalsAt + i]!;
  dst[op++] = offset & 0xff;
  dst[op++] = offset >>> 8;
  if (matchCode >= 15) op = writeLength(dst, op, matchCode - 15);
  return op;
}

function writeLastLiterals(dst: Uint8Array, op: number, src: Uint8Array, literalsAt: number, literalCount: number): number {
  dst[op++] = (literalCount >= 15 ? 15 : literalCount) << 4;
  if (literalCount >= 15) op = writeLength(dst, op, literalCount - 15);
  dst.set(src.subarray(literalsAt, literalsAt + literalCount), op);
  return op + literalCount;
}

// ------------------------------------------------------------------ decode

/** Growable output, capped so a crafted frame cannot exhaust memory. */
class Output {
  bytes: Uint8Array;
  constructor(
    initialCapacity: number,
    private readonly maxBytes: number,
  ) {
    this.bytes = new Uint8Array(Math.min(Math.max(initialCapacity, 64), maxBytes));
  }
  ensure(capacity: number, used: number): void {
    if (capacity <= this.bytes.length) return;
    if (capacity > this.maxBytes) throw new Error(`LZ4 data decompresses to more than ${this.maxBytes} bytes`);
    const grown = new Uint8Array(Math.min(Math.max(capacity, this.bytes.length * 2), this.maxBytes));
    grown.set(this.bytes.subarray(0, used));
    this.bytes = grown;
  }
}

/** Decompresses one or more concatenated LZ4 frames. Throws Error on anything malformed. */
export function lz4DecompressFrames(src: Uint8Array, maxOutputBytes: number): Uint8Array {
  const out = new Output(src.length * 4, maxOutputBytes);
  let ip = 0;
  let op = 0;
  if (src.length === 0) throw new Error('empty LZ4 input');
  while (ip < src.length) {
    if (ip + 4 > src.length) throw new Error('truncated LZ4 frame magic');
    const magic = readU32LE(src, ip);
    if ((magic & SKIPPABLE_MAGIC_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      if (ip + 8 > src.length) throw new Error('truncated LZ4 skippable frame');
      const size = readU32LE(src, ip + 4);
      if (ip + 8 + size > src.length) throw new Error('truncated LZ4 skippable frame');
      ip += 8 + size;
      continue;
    }
    if (magic !== FRAME_MAGIC) throw new Error(`not an LZ4 frame (magic 0x${magic.toString(16)})`);
    [ip, op] = decompressFrame(src, ip + 4, out, op);
  }
  return out.bytes.subarray(0, op);
}

/** Decodes the frame whose descriptor starts at `ip`; returns [input end, output end]. */
function decompressFrame(src: Uint8Array, ip: number, out: Output, op: number): [number, number] {
  if (ip + 3 > src.length) throw new Error('truncated LZ4 frame descriptor');
  const flg = src[ip]!;
  const bd = src[ip + 1]!;
  if (flg >>> 6 !== 1) throw new Error(`unsupported LZ4 frame version ${flg >>> 6}`);
  if (flg & 0x02) throw new Error('LZ4 frame reserved FLG bit set');
  if (flg & 0x01) throw new Error('LZ4 frames with a dictionary id are not supported');
  if (bd & 0x8f) throw new Error('LZ4 frame reserved BD bits set');
  const blockSizeId = (bd >>> 4) & 0x07;
  if (blockSizeId < 4) throw new Error(`invalid LZ4 block size id ${blockSizeId}`);
  const maxBlockSize = 1 << (2 * blockSizeId + 8);
  const hasBlockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const hasContentChecksum = (flg & 0x04) !== 0;
  const descriptorEnd = ip + 2 + (hasContentSize ? 8 : 0);
  if (descriptorEnd + 1 > src.length) throw new Error('truncated LZ4 frame descriptor');
  let contentSize = -1;
  if (hasContentSize) {
    contentSize = readU32LE(src, ip + 2) + readU32LE(src, ip + 6) * 4294967296;
    out.ensure(op + contentSize, op);
  }
  if (src[descriptorEnd] !== ((xxhash32(src, ip, descriptorEnd) >>> 8) & 0xff)) {
    throw new Error('LZ4 frame descriptor checksum mismatch');
  }
  ip = descriptorEnd + 1;
  const frameStart = op;
  for (;;) {
    if (ip + 4 > src.length) throw new Error('truncated LZ4 block header');
    const blockHeader = readU32LE(src, ip);
    ip += 4;
    if (blockHeader === 0) break;
    const size = blockHeader & 0x7fffffff;
    if (size > maxBlockSize) throw new Error(`LZ4 block of ${size} bytes exceeds the frame's ${maxBlockSize}`);
    const blockEnd = ip + size;
    if (blockEnd + (hasBlockChecksum ? 4 : 0) > src.length) throw new Error('truncated LZ4 block');
    if (hasBlockChecksum && xxhash32(src, ip, blockEnd) !== readU32LE(src, blockEnd)) {
      throw new Error('LZ4 block checksum mismatch');
    }
    if (blockHeader & UNCOMPRESSED_BLOCK_BIT) {
      out.ensure(op + size, op);
      out.bytes.set(src.subarray(ip, blockEnd), op);
      op += size;
    } else {
      // Decode into what we have; if the block needs more room, grow and decode it again.
      out.ensure(op + Math.min(maxBlockSize, size * 4), op);
      let decodedEnd = decompressBlock(src, ip, blockEnd, out.bytes, op, Math.min(out.bytes.length, op + maxBlockSize), frameStart);
      while (decodedEnd < 0) {
        if (out.bytes.length >= op + maxBlockSize) throw new Error(`LZ4 block decodes to more than ${maxBlockSize} bytes`);
        out.ensure(Math.min(op + maxBlockSize, out.bytes.length * 2), op);
        decodedEnd = decompressBlock(src, ip, blockEnd, out.bytes, op, Math.min(out.bytes.length, op + maxBlockSize), frameStart);
      }
      op = decodedEnd;
    }
    ip = blockEnd + (hasBlockChecksum ? 4 : 0);
  }
  if (hasContentChecksum) {
    if (ip + 4 > src.length) throw new Error('truncated LZ4 content checksum');
    if (xxhash32(out.bytes, frameStart, op) !== readU32LE(src, ip)) throw new Error('LZ4 content checksum mismatch');
    ip += 4;
  }
  if (hasContentSize && op - frameStart !== contentSize) {
    throw new Error(`LZ4 frame declares ${contentSize} bytes but holds ${op - frameStart}`);
  }
  return [ip, op];
}

function readLengthExtension(src: Uint8Array, ip: number, end: number, base: number): [number, number] {
  let length = base;
  let b: number;
  do {
    if (ip >= end) throw new Error('truncated LZ4 length');
    b = src[ip++]!;
    length += b;
  } while (b === 255);
  return [length, ip];
}

/**
 * Decodes one LZ4 block src[ip, ipEnd) into dst at `op`. Back-references may
 * reach into earlier blocks of the same frame (down to `windowStart`).
 * Returns the output end, or -1 when the block needs more than `opLimit`.
 */
function decompressBlock(
  src: Uint8Array,
  ip: number,
  ipEnd: number,
  dst: Uint8Array,
  op: number,
  opLimit: number,
  windowStart: number,
): number {
  for (;;) {
    if (ip >= ipEnd) throw new Error('truncated LZ4 sequence');
    const token = src[ip++]!;
    let literalCount = token >>> 4;
    if (literalCount === 15) [literalCount, ip] = readLengthExtension(src, ip, ipEnd, 15);
    if (ip + literalCount > ipEnd) throw new Error('LZ4 literals run past the block');
    if (op + literalCount > opLimit) return -1;
    if (literalCount > 16) {
      dst.set(src.subarray(ip, ip + literalCount), op);
    } else {
      for (let i = 0; i < literalCount; i++) dst[op + i] = src[ip + i]!;
    }
    ip += literalCount;
    op += literalCount;
    if (ip === ipEnd) return op; // the last sequence has literals only
    if (ip + 2 > ipEnd) throw new Error('truncated LZ4 match offset');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op - windowStart) throw new Error(`invalid LZ4 match offset ${offset}`);
    let matchLength = token & 15;
    if (matchLength === 15) [matchLength, ip] = readLengthExtension(src, ip, ipEnd, 15);
    matchLength += MIN_MATCH;
    if (op + matchLength > opLimit) return -1;
    let from = op - offset;
    if (offset >= matchLength && matchLength > 32) {
      dst.copyWithin(op, from, from + matchLength);
      op += matchLength;
    } else {
      // Overlapping copy repeats the last `offset` bytes, byte by byte.
      const matchEnd = op + matchLength;
      while (op < matchEnd) dst[op++] = dst[from++]!;
    }
  }
}
