/**
 * The one encoder and decoder of Kafka protocol messages, driven by the schema table: every
 * type Kafka's message definitions use, compact (flexible) and classic encodings, nullable
 * values, tagged fields, and the request and response headers. Every read is bounds-checked:
 * bad input throws KafkaDecodeError, never reads past the frame or allocates from a garbage length.
 */
import type { ApiSchema, Field, FieldType } from './types';
import { inRange } from './types';

export class KafkaDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaDecodeError';
  }
}

/** A decoded or to-be-encoded message: field names to values (numbers, strings, Buffers, arrays, objects). */
export type Message = Record<string, unknown>;

// ---- writer ----

export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): void {
    this.room(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }
  int16(v: number): void {
    this.room(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }
  uint16(v: number): void {
    this.room(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }
  int32(v: number): void {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }
  int64(v: number | bigint): void {
    this.room(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
  }
  float64(v: number): void {
    this.room(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }
  uvarint(v: number): void {
    this.room(5);
    let value = v >>> 0;
    while (value >= 0x80) {
      this.buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[this.pos++] = value;
  }
  varint(v: number): void {
    this.uvarint(((v << 1) ^ (v >> 31)) >>> 0);
  }
  varlong(v: number | bigint): void {
    let value = BigInt.asUintN(64, (BigInt(v) << 1n) ^ (BigInt(v) >> 63n));
    this.room(10);
    while (value >= 0x80n) {
      this.buf[this.pos++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buf[this.pos++] = Number(value);
  }
  raw(bytes: Uint8Array): void {
    this.room(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }
  get length(): number {
    return this.pos;
  }
  /** The bytes written (a view: copy it if the writer is used again). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

// ---- reader ----

export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) {
      throw new KafkaDecodeError(`truncated message: ${what} needs ${n} bytes at byte ${this.pos}, ${this.end - this.pos} left`);
    }
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  int8(): number {
    this.need(1, 'int8');
    return this.buf.readInt8(this.pos++);
  }
  int16(): number {
    this.need(2, 'int16');
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  uint16(): number {
    this.need(2, 'uint16');
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  int32(): number {
    this.need(4, 'int32');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  int64(): number {
    this.need(8, 'int64');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new KafkaDecodeError(`int64 ${v} at byte ${this.pos - 8} is outside the safe integer range`);
    return n;
  }
  float64(): number {
    this.need(8, 'float64');
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  uvarint(): number {
    let value = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      this.need(1, 'varint');
      const byte = this.buf[this.pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) {
        if (value > 0xffffffff) break;
        return value;
      }
    }
    throw new KafkaDecodeError(`varint longer than 5 bytes or above 2^32 at byte ${this.pos}`);
  }
  varint(): number {
    const u = this.uvarint();
    return (u >>> 1) ^ -(u & 1);
  }
  varlong(): number {
    let value = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      this.need(1, 'varlong');
      const byte = this.buf[this.pos++]!;
      value |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) {
        const n = Number((value >> 1n) ^ -(value & 1n));
        if (!Number.isSafeInteger(n)) throw new KafkaDecodeError(`varlong outside the safe integer range at byte ${this.pos}`);
        return n;
      }
    }
    throw new KafkaDecodeError(`varlong longer than 10 bytes at byte ${this.pos}`);
  }
  take(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

// ---- values ----

const zeroUuid = '00000000-0000-0000-0000-000000000000';

export function uuidToBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`'${uuid}' is not a UUID`);
  return Buffer.from(hex, 'hex');
}

export function uuidFromBytes(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function defaultOf(field: Field, version: number): unknown {
  if (field.default !== undefined) return field.default;
  if (inRange(field.nullable, version)) return null;
  return typeDefault(field.type, version);
}

function typeDefault(type: FieldType, version: number): unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'bool':
        return false;
      case 'string':
        return '';
      case 'uuid':
        return zeroUuid;
      case 'bytes':
      case 'records':
        return Buffer.alloc(0);
      default:
        return 0;
    }
  }
  if ('array' in type) return [];
  return defaultsOf(type.struct, version);
}

function defaultsOf(fields: readonly Field[], version: number): Message {
  const out: Message = {};
  for (const field of fields) out[field.name] = defaultOf(field, version);
  return out;
}

// ---- encoding ----

function writeLength(w: Writer, length: number, flexible: boolean, wide: boolean): void {
  if (flexible) w.uvarint(length + 1);
  else if (wide) w.int32(length);
  else w.int16(length);
}

/** Returns nothing useful: `return w.int8(...)` only ends the branch. */
function writeValue(
  w: Writer,
  type: FieldType,
  value: unknown,
  version: number,
  flexible: boolean,
  nullable: boolean,
  path: string,
): unknown {
  if (value === null || value === undefined) {
    if (!nullable && value === null) throw new Error(`${path} is null but not nullable in version ${version}`);
    if (value === null) {
      if (typeof type === 'string') {
        if (type === 'string') return writeLength(w, -1, flexible, false);
        if (type === 'bytes' || type === 'records') return writeLength(w, -1, flexible, true);
      } else if ('array' in type) return writeLength(w, -1, flexible, true);
      else return w.int8(-1);
      throw new Error(`${path}: type ${type} cannot be null`);
    }
    value = typeDefault(type, version);
  }
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
        return w.int8(value as number);
      case 'int16':
        return w.int16(value as number);
      case 'uint16':
        return w.uint16(value as number);
      case 'int32':
        return w.int32(value as number);
      case 'int64':
        return w.int64(value as number);
      case 'varint':
        return w.varint(value as number);
      case 'varlong':
        return w.varlong(value as number);
      case 'uvarint':
        return w.uvarint(value as number);
      case 'float64':
        return w.float64(value as number);
      case 'bool':
        return w.int8(value ? 1 : 0);
      case 'uuid':
        return w.raw(uuidToBytes(value as string));
      case 'string': {
        const bytes = Buffer.from(value as string, 'utf8');
        if (!flexible && bytes.length > 0x7fff) throw new Error(`${path} is longer than 32767 bytes`);
        writeLength(w, bytes.length, flexible, false);
        return w.raw(bytes);
      }
      case 'bytes':
      case 'records': {
        const bytes = value as Uint8Array;
        writeLength(w, bytes.length, flexible, true);
        return w.raw(bytes);
      }
    }
  }
  if ('array' in type) {
    const items = value as unknown[];
    writeLength(w, items.length, flexible, true);
    items.forEach((item, i) => {
      writeValue(w, type.array, item, version, flexible, false, `${path}[${i}]`);
    });
    return;
  }
  if (nullable) w.int8(1);
  writeStruct(w, type.struct, value as Message, version, flexible, path);
}

function writeStruct(w: Writer, fields: readonly Field[], message: Message, version: number, flexible: boolean, path: string): void {
  const tagged: { tag: number; bytes: Buffer }[] = [];
  for (const field of fields) {
    if (!inRange(field.versions, version)) continue;
    const value = message[field.name];
    const nullable = inRange(field.nullable, version);
    if (field.tag !== undefined) {
      if (!flexible || value === undefined || isDefault(value, defaultOf(field, version))) continue;
      const inner = new Writer();
      writeValue(inner, field.type, value, version, flexible, nullable, `${path}.${field.name}`);
      tagged.push({ tag: field.tag, bytes: Buffer.from(inner.bytes()) });
      continue;
    }
    writeValue(
      w,
      field.type,
      value === undefined ? defaultOf(field, version) : value,
      version,
      flexible,
      nullable,
      `${path}.${field.name}`,
    );
  }
  if (flexible) {
    tagged.sort((a, b) => a.tag - b.tag);
    w.uvarint(tagged.length);
    for (const { tag, bytes } of tagged) {
      w.uvarint(tag);
      w.uvarint(bytes.length);
      w.raw(bytes);
    }
  }
}

const isDefault = (value: unknown, fallback: unknown): boolean =>
  value === fallback || (Array.isArray(value) && value.length === 0 && Array.isArray(fallback) && fallback.length === 0);

// ---- decoding ----

function readLength(r: Reader, flexible: boolean, wide: boolean): number {
  if (flexible) return r.uvarint() - 1;
  return wide ? r.int32() : r.int16();
}

function readValue(r: Reader, type: FieldType, version: number, flexible: boolean, nullable: boolean, path: string): unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'int8':
        return r.int8();
      case 'int16':
        return r.int16();
      case 'uint16':
        return r.uint16();
      case 'int32':
        return r.int32();
      case 'int64':
        return r.int64();
      case 'varint':
        return r.varint();
      case 'varlong':
        return r.varlong();
      case 'uvarint':
        return r.uvarint();
      case 'float64':
        return r.float64();
      case 'bool':
        return r.int8() !== 0;
      case 'uuid':
        return uuidFromBytes(r.take(16, path));
      case 'string':
      case 'bytes':
      case 'records': {
        const length = readLength(r, flexible, type !== 'string');
        if (length < 0) {
          if (length === -1 && nullable) return null;
          throw new KafkaDecodeError(`${path}: length ${length} is not allowed here`);
        }
        const bytes = r.take(length, path);
        return type === 'string' ? bytes.toString('utf8') : bytes;
      }
    }
  }
  if ('array' in type) {
    const length = readLength(r, flexible, true);
    if (length < 0) {
      if (length === -1 && nullable) return null;
      throw new KafkaDecodeError(`${path}: array length ${length} is not allowed here`);
    }
    // Every element takes at least one byte: a garbage length cannot make us loop for long.
    if (length > r.remaining) throw new KafkaDecodeError(`${path}: array of ${length} cannot fit in ${r.remaining} bytes`);
    const items: unknown[] = new Array(length);
    for (let i = 0; i < length; i++) items[i] = readValue(r, type.array, version, flexible, false, `${path}[${i}]`);
    return items;
  }
  if (nullable && r.int8() < 0) return null;
  return readStruct(r, type.struct, version, flexible, path);
}

function readStruct(r: Reader, fields: readonly Field[], version: number, flexible: boolean, path: string): Message {
  const out: Message = {};
  for (const field of fields) {
    if (!inRange(field.versions, version) || (field.tag !== undefined && flexible)) {
      out[field.name] = defaultOf(field, version);
      continue;
    }
    if (field.tag !== undefined) {
      out[field.name] = defaultOf(field, version);
      continue;
    }
    out[field.name] = readValue(r, field.type, version, flexible, inRange(field.nullable, version), `${path}.${field.name}`);
  }
  if (flexible) readTaggedFields(r, fields, version, out, path);
  return out;
}

function readTaggedFields(r: Reader, fields: readonly Field[], version: number, out: Message, path: string): void {
  const count = r.uvarint();
  if (count > r.remaining) throw new KafkaDecodeError(`${path}: ${count} tagged fields cannot fit in ${r.remaining} bytes`);
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint();
    if (tag <= previous) throw new KafkaDecodeError(`${path}: tagged fields out of order (tag ${tag} after ${previous})`);
    previous = tag;
    const size = r.uvarint();
    const body = r.take(size, `${path} tag ${tag}`);
    const field = fields.find((candidate) => candidate.tag === tag && inRange(candidate.versions, version));
    if (!field) continue; // unknown tags are skipped, as Kafka does
    const inner = new Reader(body);
    out[field.name] = readValue(inner, field.type, version, true, inRange(field.nullable, version), `${path}.${field.name}`);
  }
}

// ---- messages and headers ----

export const isFlexible = (schema: ApiSchema, version: number): boolean => version >= schema.flexibleFrom;

export function encodeRequestBody(schema: ApiSchema, version: number, message: Message, w = new Writer()): Writer {
  writeStruct(w, schema.request, message, version, isFlexible(schema, version), schema.name);
  return w;
}

export function encodeResponseBody(schema: ApiSchema, version: number, message: Message, w = new Writer()): Writer {
  writeStruct(w, schema.response, message, version, isFlexible(schema, version), schema.name);
  return w;
}

export function decodeRequestBody(schema: ApiSchema, version: number, r: Reader): Message {
  const message = readStruct(r, schema.request, version, isFlexible(schema, version), `${schema.name}Request`);
  if (r.remaining !== 0) throw new KafkaDecodeError(`${r.remaining} bytes follow the ${schema.name} v${version} request`);
  return message;
}

export function decodeResponseBody(schema: ApiSchema, version: number, r: Reader): Message {
  const message = readStruct(r, schema.response, version, isFlexible(schema, version), `${schema.name}Response`);
  if (r.remaining !== 0) throw new KafkaDecodeError(`${r.remaining} bytes follow the ${schema.name} v${version} response`);
  return message;
}

export interface RequestHeader {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/**
 * Request header v1 (key, version, correlation id, nullable client id: a classic string even in
 * flexible versions), plus tagged fields (v2) when the body is flexible. `flexible` is asked
 * only after key and version are read, since they decide it.
 */
export function decodeRequestHeader(r: Reader, flexible: (apiKey: number, apiVersion: number) => boolean): RequestHeader {
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const length = r.int16();
  let clientId: string | null = null;
  if (length >= 0) clientId = r.take(length, 'client id').toString('utf8');
  else if (length !== -1) throw new KafkaDecodeError(`client id length ${length}`);
  if (flexible(apiKey, apiVersion)) readTaggedFields(r, [], apiVersion, {}, 'request header');
  return { apiKey, apiVersion, correlationId, clientId };
}

export function encodeRequestHeader(w: Writer, header: RequestHeader, flexible: boolean): void {
  w.int16(header.apiKey);
  w.int16(header.apiVersion);
  w.int32(header.correlationId);
  if (header.clientId === null) w.int16(-1);
  else {
    const bytes = Buffer.from(header.clientId, 'utf8');
    w.int16(bytes.length);
    w.raw(bytes);
  }
  if (flexible) w.uvarint(0);
}

/** Response header v0 (correlation id), or v1 (plus tagged fields) for a flexible body. ApiVersions always answers with v0. */
export function responseHeaderFlexible(schema: ApiSchema, version: number): boolean {
  return schema.key !== 18 && isFlexible(schema, version);
}

/** A whole response frame: size, header, body. */
export function encodeResponseFrame(schema: ApiSchema, version: number, correlationId: number, body: Message): Buffer {
  const w = new Writer();
  w.int32(0); // size, patched below
  w.int32(correlationId);
  if (responseHeaderFlexible(schema, version)) w.uvarint(0);
  encodeResponseBody(schema, version, body, w);
  const frame = Buffer.from(w.bytes());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A whole request frame (for tests and the benchmark's probes). */
export function encodeRequestFrame(
  schema: ApiSchema,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: Message,
): Buffer {
  const w = new Writer();
  w.int32(0);
  encodeRequestHeader(w, { apiKey: schema.key, apiVersion: version, correlationId, clientId }, isFlexible(schema, version));
  encodeRequestBody(schema, version, body, w);
  const frame = Buffer.from(w.bytes());
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** A bare struct in classic encoding (the consumer protocol's subscription and assignment bytes); bytes after it are ignored. */
export function decodeStruct(fields: readonly Field[], version: number, bytes: Buffer): Message {
  return readStruct(new Reader(bytes), fields, version, false, 'struct');
}

export function encodeStruct(fields: readonly Field[], version: number, message: Message): Buffer {
  const w = new Writer();
  writeStruct(w, fields, message, version, false, 'struct');
  return Buffer.from(w.bytes());
}
