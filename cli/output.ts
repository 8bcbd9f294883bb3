/** Output helpers of the CLI: tables, kcat-style format strings, JSON lines. */
import { InvalidArgumentError } from 'commander';
import type { Message } from '../client/src/records';
import { asUtf8 } from '../shared/utf8';

/** A table like kafka-consumer-groups prints: upper-case headers, left-aligned, columns two spaces apart. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** One JSON line per record: text fields when UTF-8, `keyBase64`/`valueBase64` otherwise (never lossy). */
export function jsonLine(topic: string, message: Message): Buffer {
  const bytesField = (name: string, bytes: Buffer | null): Record<string, string | null> => {
    if (bytes === null) return { [name]: null };
    const text = asUtf8(bytes);
    return text === undefined ? { [`${name}Base64`]: bytes.toString('base64') } : { [name]: text };
  };
  const record = {
    topic,
    partition: message.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    ...bytesField('key', message.key),
    ...bytesField('value', message.value),
    headers: message.headerList.map((h) => ({ key: h.key, ...bytesField('value', h.value) })),
  };
  return Buffer.from(`${JSON.stringify(record)}\n`);
}

type Piece = string | ((topic: string, message: Message) => Buffer | string);

/**
 * Compiles a kcat-style format: %t topic, %p partition, %o offset, %T timestamp (ms), %k key,
 * %v or %s value, %K key length, %S value length, %h headers (k=v,...), %% a percent sign; \n,
 * \t, \r and \\ escapes. A null key or value prints as `null` (kafka-console-consumer's way;
 * lengths print -1). A newline ends each record unless the format already ends with one.
 */
export function compileFormat(format: string): (topic: string, message: Message) => Buffer {
  let text = format.replace(/\\([ntr\\])/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
  if (!text.endsWith('\n')) text += '\n';
  const pieces: Piece[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '%' || i === text.length - 1) {
      literal += c;
      continue;
    }
    const token = text[++i]!;
    const field = tokens[token];
    if (token === '%') literal += '%';
    else if (field) {
      if (literal) pieces.push(literal);
      literal = '';
      pieces.push(field);
    } else literal += `%${token}`;
  }
  if (literal) pieces.push(literal);
  return (topic, message) =>
    Buffer.concat(
      pieces.map((piece) => {
        const out = typeof piece === 'string' ? piece : piece(topic, message);
        return typeof out === 'string' ? Buffer.from(out) : out;
      }),
    );
}

const nullable = (bytes: Buffer | null) => bytes ?? 'null';

const tokens: Record<string, (topic: string, message: Message) => Buffer | string> = {
  t: (topic) => topic,
  p: (_t, m) => String(m.partition),
  o: (_t, m) => String(m.offset),
  T: (_t, m) => String(m.timestamp),
  k: (_t, m) => nullable(m.key),
  v: (_t, m) => nullable(m.value),
  s: (_t, m) => nullable(m.value),
  K: (_t, m) => String(m.key?.length ?? -1),
  S: (_t, m) => String(m.value?.length ?? -1),
  h: (_t, m) => m.headerList.map((h) => `${h.key}=${h.value === null ? 'null' : h.value.toString('utf8')}`).join(','),
};

/** Writes to stdout, waiting when the pipe is full. */
export function writeOut(chunk: Buffer | string): Promise<void> | void {
  if (!process.stdout.write(chunk)) return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

/** Parses `key=value` pairs (repeatable options). */
export function collectPair(value: string, previous: [string, string][] = []): [string, string][] {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return [...previous, [value.slice(0, i), value.slice(i + 1)]];
}

export function parseInteger(name: string, min = 0): (value: string) => number {
  return (value) => {
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
      throw new InvalidArgumentError(`${name} must be an integer${min > Number.MIN_SAFE_INTEGER ? ` >= ${min}` : ''}; got '${value}'`);
    }
    return Number(value);
  };
}

/** A timestamp in ms, or an ISO 8601 date. */
export function parseTimestamp(value: string): number {
  if (/^\d+$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new InvalidArgumentError(`expected a timestamp in ms or an ISO 8601 date; got '${value}'`);
  return ms;
}
