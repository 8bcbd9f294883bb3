/**
 * Record-batch codec benchmark: Logway's encoder/decoder side by side with
 * KafkaJS's on the same data in the same run.
 *
 *   npx tsx bench/codec.ts
 *
 * Uncompressed batches of 1, 100 and 1000 records with 100 B and 1 KiB
 * values (plus a 10-byte key and one header), then 1000 x 1 KiB with each
 * codec. MB/s counts uncompressed batch bytes (1 MB = 10^6 bytes), so
 * codecs compare on the same work; records/s counts records encoded or
 * decoded. Each figure is the best of 3 timed
 * rounds after a warm-up, which is steadier on small, noisy machines.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { crc32cJs } from '../shared/records/crc32c';
import {
  type CompressionType,
  type RecordInput,
  crc32c,
  crc32cImplementation,
  decodeRecordBatch,
  encodeRecordBatch,
  zstdImplementation,
} from '../shared/records/index';

const CRC_AT = 17;
const CRC_COVERS_FROM = 21;

const require = createRequire(import.meta.url);

// KafkaJS internals (devDependency), used here as the reference only.
const kafkajsRecordBatch = require('kafkajs/src/protocol/recordBatch/v0').RecordBatch as (input: object) => Promise<{ buffer: Buffer }>;
const kafkajsRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (input: object) => unknown;
const kafkajsDecode = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{ records: unknown[] }>;
const KafkajsDecoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
const KAFKAJS_CODEC: Partial<Record<CompressionType, number>> = { none: 0, gzip: 1 };

export interface CodecBenchRow {
  codec: CompressionType;
  records: number;
  valueBytes: number;
  /** Encoded size of the batch (compressed for codecs other than none). */
  batchBytes: number;
  /**
   * 'decode' verifies the CRC with the default (native) CRC32C. The two
   * variants show the decode paths Lambda can take: the pure-JS CRC32C when
   * the native binding is not shipped, and `verifyCrc: false`.
   */
  operation: 'encode' | 'decode' | 'decode, JS CRC32C' | 'decode, no CRC check';
  /** Uncompressed batch bytes per second / 10^6, so codecs compare on the same work. */
  logwayMBps: number;
  logwayRecordsPerSec: number;
  /** null where KafkaJS has no built-in codec (snappy, lz4, zstd). */
  kafkajsMBps: number | null;
  kafkajsRecordsPerSec: number | null;
  /** logway / kafkajs throughput. */
  ratio: number | null;
}

export interface CodecTiming {
  /** Untimed warm-up before each case. */
  warmupMs: number;
  /** Length of each timed round. */
  roundMs: number;
  /** Timed rounds; the best is kept. */
  rounds: number;
}

/** The default timing (about 35 s for the whole benchmark on 2 cores). */
export const defaultCodecTiming: Readonly<CodecTiming> = { warmupMs: 150, roundMs: 200, rounds: 3 };
let timing: CodecTiming = { ...defaultCodecTiming };
const FIRST_TIMESTAMP = 1_700_000_000_000;

/** Best-of-rounds calls per second of `fn`, after a warm-up. */
async function opsPerSecond(fn: () => unknown): Promise<number> {
  const runFor = async (ms: number) => {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < 8; i++) {
        const result = fn();
        if (result instanceof Promise) await result;
      }
      calls += 8;
      elapsed = performance.now() - start;
    } while (elapsed < ms);
    return (calls * 1000) / elapsed;
  };
  await runFor(timing.warmupMs);
  let best = 0;
  for (let round = 0; round < timing.rounds; round++) best = Math.max(best, await runFor(timing.roundMs));
  return best;
}

/** Deterministic, mildly compressible values (JSON-ish text with a counter). */
function makeRecords(count: number, valueBytes: number): RecordInput[] {
  return Array.from({ length: count }, (_, i) => {
    const text = `{"id":${i},"user":"user-${i % 1000}","event":"page_view","path":"/products/${(i * 7919) % 10007}"}`;
    const value = Buffer.alloc(valueBytes);
    for (let at = 0; at < valueBytes; at += text.length) value.write(text, at);
    return {
      key: Buffer.from(`key-${String(i).padStart(6, '0')}`),
      value,
      headers: [{ key: 'source', value: Buffer.from('bench-01') }],
      timestamp: FIRST_TIMESTAMP + i,
    };
  });
}

async function benchCase(codec: CompressionType, count: number, valueBytes: number): Promise<CodecBenchRow[]> {
  const records = makeRecords(count, valueBytes);
  const maxTimestamp = FIRST_TIMESTAMP + count - 1;
  // Inputs are built once as plain literals: on Node 20 an object made with
  // `{ ...defaults, more }` costs microseconds to create, which would swamp a 1-record batch.
  const input = {
    compression: codec,
    firstTimestamp: FIRST_TIMESTAMP,
    maxTimestamp,
    lastOffsetDelta: count - 1,
    partitionLeaderEpoch: 0,
    producerEpoch: 0,
    baseSequence: 0,
    records,
  };
  const encodeLogway = () => encodeRecordBatch(input);
  const bytes = encodeLogway();
  const decodeLogway = () => decodeRecordBatch(bytes);
  const uncompressedBytes = codec === 'none' ? bytes.length : encodeRecordBatch({ ...input, compression: 'none' }).length;

  const kafkajsCodec = KAFKAJS_CODEC[codec];
  let encodeKafkajs: (() => Promise<unknown>) | null = null;
  let decodeKafkajs: (() => Promise<unknown>) | null = null;
  if (kafkajsCodec !== undefined) {
    // Building KafkaJS's Record encoders is part of its encoding work, so it is inside the timed call.
    const headersObject = (r: RecordInput) => Object.fromEntries((r.headers ?? []).map((h) => [h.key, h.value]));
    encodeKafkajs = () =>
      kafkajsRecordBatch({
        compression: kafkajsCodec,
        firstTimestamp: FIRST_TIMESTAMP,
        maxTimestamp,
        lastOffsetDelta: count - 1,
        records: records.map((r, i) =>
          kafkajsRecord({
            offsetDelta: i,
            timestampDelta: r.timestamp! - FIRST_TIMESTAMP,
            key: r.key,
            value: r.value,
            headers: headersObject(r),
          }),
        ),
      });
    const theirs = (await encodeKafkajs()) as { buffer: Buffer };
    if (codec === 'none' && Buffer.compare(theirs.buffer, bytes) !== 0) throw new Error('KafkaJS and Logway disagree on the bytes');
    decodeKafkajs = () => kafkajsDecode(new KafkajsDecoder(bytes));
  }

  const cases: Array<[CodecBenchRow['operation'], () => unknown, (() => Promise<unknown>) | null]> = [
    ['encode', encodeLogway, encodeKafkajs],
    ['decode', decodeLogway, decodeKafkajs],
  ];
  if (codec === 'none' && valueBytes === 1024) {
    // Exactly what decodeRecordBatch does when the JS fallback is the CRC32C implementation.
    const decodeWithJsCrc = () => {
      if (crc32cJs(bytes.subarray(CRC_COVERS_FROM)) !== bytes.readUInt32BE(CRC_AT)) throw new Error('CRC mismatch');
      return decodeRecordBatch(bytes, { verifyCrc: false });
    };
    cases.push(['decode, JS CRC32C', decodeWithJsCrc, decodeKafkajs]);
    cases.push(['decode, no CRC check', () => decodeRecordBatch(bytes, { verifyCrc: false }), decodeKafkajs]);
  }
  const kafkajsOpsCache = new Map<unknown, number>();
  const rows: CodecBenchRow[] = [];
  for (const [operation, ours, theirs] of cases) {
    const logwayOps = await opsPerSecond(ours);
    let kafkajsOps: number | null = null;
    if (theirs) {
      kafkajsOps = kafkajsOpsCache.get(theirs) ?? (await opsPerSecond(theirs));
      kafkajsOpsCache.set(theirs, kafkajsOps);
    }
    rows.push({
      codec,
      records: count,
      valueBytes,
      batchBytes: bytes.length,
      operation,
      logwayMBps: (logwayOps * uncompressedBytes) / 1e6,
      logwayRecordsPerSec: logwayOps * count,
      kafkajsMBps: kafkajsOps === null ? null : (kafkajsOps * uncompressedBytes) / 1e6,
      kafkajsRecordsPerSec: kafkajsOps === null ? null : kafkajsOps * count,
      ratio: kafkajsOps === null ? null : logwayOps / kafkajsOps,
    });
  }
  return rows;
}

/** CRC32C throughput in GB/s over 1 MiB, native (null if the binding is missing) and pure JS. */
export async function runCrc32cBench(options: Partial<CodecTiming> = {}): Promise<{ native: number | null; js: number }> {
  timing = { ...defaultCodecTiming, ...options };
  const data = Buffer.alloc(1 << 20, 0x5a);
  const gbps = async (fn: (d: Uint8Array) => number) => ((await opsPerSecond(() => fn(data))) * data.length) / 1e9;
  return { native: crc32cImplementation === 'native' ? await gbps(crc32c) : null, js: await gbps(crc32cJs) };
}

/** `options` shortens the timing (bench/run.ts `quick`); the default is `defaultCodecTiming`. */
export async function runCodecBench(options: Partial<CodecTiming> = {}): Promise<CodecBenchRow[]> {
  timing = { ...defaultCodecTiming, ...options };
  // One throw-away pass so the first timed case does not pay for JIT tiering of the shared code.
  await benchCase('none', 10, 100);
  const rows: CodecBenchRow[] = [];
  for (const valueBytes of [100, 1024]) {
    for (const count of [1, 100, 1000]) rows.push(...(await benchCase('none', count, valueBytes)));
  }
  for (const codec of ['gzip', 'snappy', 'lz4', 'zstd'] as const) rows.push(...(await benchCase(codec, 1000, 1024)));
  return rows;
}

export function formatCodecBench(rows: readonly CodecBenchRow[]): string {
  const number = (n: number | null, digits = 0) =>
    n === null ? 'n/a' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const header = [
    'codec',
    'records',
    'value',
    'batch B',
    'operation',
    'Logway MB/s',
    'KafkaJS MB/s',
    'Logway rec/s',
    'KafkaJS rec/s',
    'ratio',
  ];
  const lines = rows.map((r) => [
    r.codec,
    String(r.records),
    r.valueBytes === 1024 ? '1 KiB' : `${r.valueBytes} B`,
    String(r.batchBytes),
    r.operation,
    number(r.logwayMBps, 1),
    number(r.kafkajsMBps, 1),
    number(r.logwayRecordsPerSec),
    number(r.kafkajsRecordsPerSec),
    r.ratio === null ? 'n/a' : `${r.ratio.toFixed(1)}x`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => (i < 5 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [
    row(header),
    `|${widths.map((w, i) => (i < 5 ? ` ${'-'.repeat(w)} ` : ` ${'-'.repeat(w - 1)}: `)).join('|')}|`,
    ...lines.map(row),
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const rows = await runCodecBench();
  const crc = await runCrc32cBench();
  console.log(`Node ${process.version} ${process.arch}; CRC32C ${crc32cImplementation}; zstd ${zstdImplementation}`);
  console.log(formatCodecBench(rows));
  console.log(`CRC32C over 1 MiB: native ${crc.native === null ? 'n/a' : crc.native.toFixed(2)} GB/s, pure JS ${crc.js.toFixed(2)} GB/s`);
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
