/**
 * Kafka's zigzag varints (int32, "varint") and varlongs (int64, "varlong"),
 * as used inside v2 records. Protocol Buffers encoding: 7 bits per byte, low
 * group first, high bit = more bytes follow; zigzag maps signed to unsigned so
 * small negative numbers stay short (-1 -> 1).
 *
 * Varlongs here are read and written from JS numbers without losing
 * precision: values that fit 52 bits use plain arithmetic and only extreme
 * timestamp deltas fall back to BigInt.
 */

/** What the varint readers need: bounds plus a way to raise a located error. */
export interface ByteCursor {
  readonly bytes: Uint8Array;
  pos: number;
  end: number;
  fail(detail: string): never;
}

const TWO_POW_52 = 2 ** 52;

// ---------------------------------------------------------------- int32

/** Bytes `writeVarint` will use for a signed int32. */
export function sizeOfVarint(value: number): number {
  const z = ((value << 1) ^ (value >> 31)) >>> 0;
  if (z < 0x80) return 1;
  if (z < 0x4000) return 2;
  if (z < 0x200000) return 3;
  if (z < 0x10000000) return 4;
  return 5;
}

/** Writes a signed int32 as a zigzag varint; returns the position after it. */
export function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let z = ((value << 1) ^ (value >> 31)) >>> 0;
  while (z >= 0x80) {
    buf[pos++] = (z & 0x7f) | 0x80;
    z >>>= 7;
  }
  buf[pos++] = z;
  return pos;
}

/** Reads a zigzag varint (at most 5 bytes, as Kafka's ByteUtils.readVarint). */
export function readVarint(c: ByteCursor): number {
  const bytes = c.bytes;
  let pos = c.pos;
  const end = c.end;
  if (pos >= end) c.fail('truncated varint');
  let b = bytes[pos++]!;
  let raw = b & 0x7f;
  if (b >= 0x80) {
    let shift = 7;
    for (;;) {
      if (pos >= end) c.fail('truncated varint');
      b = bytes[pos++]!;
      raw |= (b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 28) c.fail('varint longer than 5 bytes');
    }
  }
  c.pos = pos;
  return (raw >>> 1) ^ -(raw & 1);
}

// ---------------------------------------------------------------- int64

/** Bytes a zigzag varlong of the exact integer `to - from` takes (both safe integers). */
export function sizeOfVarlongDelta(to: number, from: number): number {
  const delta = to - from;
  if (delta >= -0x40000000 && delta < 0x40000000) return sizeOfVarint(delta);
  if (delta > -TWO_POW_52 && delta < TWO_POW_52) {
    let z = delta >= 0 ? delta * 2 : -delta * 2 - 1;
    let size = 1;
    while (z >= 0x80) {
      z = Math.floor(z / 0x80);
      size++;
    }
    return size;
  }
  let z = zigzagBig(BigInt(to) - BigInt(from));
  let size = 1;
  while (z >= 0x80n) {
    z >>= 7n;
    size++;
  }
  return size;
}

/**
 * Writes the exact integer `to - from` as a zigzag varlong. Taking both ends
 * (not the difference) matters: the difference of two safe integers can
 * exceed 2^53 and would round as a number.
 */
export function writeVarlongDelta(buf: Uint8Array, pos: number, to: number, from: number): number {
  const delta = to - from;
  if (delta >= -0x40000000 && delta < 0x40000000) return writeVarint(buf, pos, delta);
  if (delta > -TWO_POW_52 && delta < TWO_POW_52) {
    // |delta| < 2^52 so the zigzag value < 2^53 is exact.
    let z = delta >= 0 ? delta * 2 : -delta * 2 - 1;
    while (z >= 0x80) {
      buf[pos++] = (z % 0x80) | 0x80;
      z = Math.floor(z / 0x80);
    }
    buf[pos++] = z;
    return pos;
  }
  let z = zigzagBig(BigInt(to) - BigInt(from));
  while (z >= 0x80n) {
    buf[pos++] = Number(z & 0x7fn) | 0x80;
    z >>= 7n;
  }
  buf[pos++] = Number(z);
  return pos;
}

function zigzagBig(v: bigint): bigint {
  return v >= 0n ? v << 1n : (-v << 1n) - 1n;
}

/**
 * Reads a zigzag varlong (at most 10 bytes) and returns `base + value`, exact,
 * failing when the sum is not a safe integer. Used for timestamp deltas, so
 * the common 1-4 byte case stays on plain numbers.
 */
export function readVarlongPlus(c: ByteCursor, base: number): number {
  const bytes = c.bytes;
  const start = c.pos;
  const end = c.end;
  let pos = start;
  let raw = 0;
  let multiplier = 1;
  for (let i = 0; i < 7; i++) {
    if (pos >= end) c.fail('truncated varlong');
    const b = bytes[pos++]!;
    raw += (b & 0x7f) * multiplier;
    if (b < 0x80) {
      c.pos = pos;
      // raw < 2^49: exact; the sum is exact whenever the result is safe.
      const sum = base + (raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2);
      if (!Number.isSafeInteger(sum)) c.fail('timestamp outside the JS safe integer range');
      return sum;
    }
    multiplier *= 0x80;
  }
  return readLongVarlongPlus(c, start, base);
}

/** Slow path of readVarlongPlus for 8-10 byte encodings. */
function readLongVarlongPlus(c: ByteCursor, start: number, base: number): number {
  const bytes = c.bytes;
  let pos = start;
  let raw = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= c.end) c.fail('truncated varlong');
    const b = bytes[pos++]!;
    raw |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      c.pos = pos;
      raw &= 0xffffffffffffffffn; // a 10th byte can carry bits past 64; Java drops them too
      const value = (raw >> 1n) ^ -(raw & 1n);
      const sum = BigInt(base) + value;
      if (sum > BigInt(Number.MAX_SAFE_INTEGER) || sum < BigInt(Number.MIN_SAFE_INTEGER)) {
        c.fail('timestamp outside the JS safe integer range');
      }
      return Number(sum);
    }
    shift += 7n;
  }
  return c.fail('varlong longer than 10 bytes');
}
