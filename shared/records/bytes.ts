/** Small byte helpers: writing int64 fields from JS numbers, and a zero-copy Buffer view of any Uint8Array. */

const TWO_POW_32 = 4294967296;

/** Writes a safe integer as a big-endian int64. */
export function writeInt64(buf: Buffer, pos: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  buf.writeInt32BE(high, pos);
  buf.writeUInt32BE(value - high * TWO_POW_32, pos + 4);
}

/** Views any Uint8Array as a Buffer without copying, for Buffer's read/write helpers. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
