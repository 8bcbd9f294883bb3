import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compress as snappyjsCompress } from 'snappyjs';
import { afterAll, describe, expect, it } from 'vitest';
import { UnsupportedCompressionError } from '../../shared/records/errors';
import { compress, compressionTypeOf, decompress } from '../../shared/records/compression';
import { lz4CompressFrame, lz4DecompressFrames } from '../../shared/records/lz4';
import { snappyCompressXerial, snappyDecompress, uncompressBlock } from '../../shared/records/snappy';
import { xxhash32 } from '../../shared/records/xxhash32';
import { zstdDecompress, zstdImplementation, zstdStoredFrame } from '../../shared/records/zstd';
import { ALL_CODECS } from './arbitraries';

const MiB = 1024 * 1024;
const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const hasCli = (name: string) => spawnSync(name, ['--version']).status === 0;
const run = (cmd: string, args: string[], input?: Uint8Array) => {
  const result = spawnSync(cmd, args, { input, maxBuffer: 64 * MiB });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${result.stderr.toString()}`);
  return result.stdout;
};

/** Data with something for a compressor to find: records-like text plus random noise. */
const compressible = fc
  .tuple(
    fc.array(fc.constantFrom('{"user":', '"id":', '42', 'kafka', ' ', '\n', 'é'), { maxLength: 400 }),
    fc.uint8Array({ maxLength: 200 }),
  )
  .map(([words, noise]) => Buffer.concat([Buffer.from(words.join('')), noise]));
const anyBytes = fc.oneof(compressible, fc.uint8Array({ maxLength: 1000 }));

const tmp = mkdtempSync(join(tmpdir(), 'records-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** 300 KB of text, so frames span several 64 KiB blocks. */
const largeText = Buffer.from(Array.from({ length: 9000 }, (_, i) => `{"offset":${i},"event":"click","page":"/p/${i % 97}"}`).join('\n'));

describe('codec dispatch', () => {
  it('round-trips every codec', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALL_CODECS), anyBytes, (codec, data) => {
        expect(hex(decompress(codec, compress(codec, data), MiB))).toBe(hex(data));
      }),
      { numRuns: 200 },
    );
  });

  it('maps codec ids like Kafka and rejects 5-7 with a typed error', () => {
    expect(ALL_CODECS.map((_, id) => compressionTypeOf(id))).toEqual(ALL_CODECS);
    for (const id of [5, 6, 7]) {
      expect(() => compressionTypeOf(id)).toThrow(UnsupportedCompressionError);
      expect(() => compressionTypeOf(id)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_COMPRESSION_TYPE' }));
    }
  });
});

describe('xxhash32', () => {
  it.each([
    ['', 0x02cc5d05],
    ['a', 0x550d7456],
    ['abc', 0x32d153ff],
    ['Nobody inspects the spammish repetition', 0xe2293b2f],
  ])('%j', (text, expected) => {
    expect(xxhash32(Buffer.from(text))).toBe(expected);
  });
});

describe('lz4 frames', () => {
  it('writes the frame header Kafka Java writes (independent 64 KiB blocks, no checksums)', () => {
    expect(hex(lz4CompressFrame(Buffer.from('hello')).subarray(0, 7))).toBe('04224d18604082');
    expect(hex(lz4CompressFrame(new Uint8Array(0)))).toBe('04224d1860408200000000');
  });

  it('round-trips, including multi-block frames', () => {
    fc.assert(
      fc.property(anyBytes, (data) => {
        expect(hex(lz4DecompressFrames(lz4CompressFrame(data), MiB))).toBe(hex(data));
      }),
      { numRuns: 200 },
    );
    const frame = lz4CompressFrame(largeText);
    expect(frame.length).toBeLessThan(largeText.length / 3);
    expect(Buffer.compare(Buffer.from(lz4DecompressFrames(frame, MiB)), largeText)).toBe(0);
  });

  it('every block decodes on its own (Kafka Java rejects dependent blocks)', () => {
    const frame = lz4CompressFrame(largeText);
    const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
    const parts: Uint8Array[] = [];
    let pos = 7;
    for (;;) {
      const size = view.readUInt32LE(pos) & 0x7fffffff;
      if (size === 0) break;
      expect(size).toBeLessThanOrEqual(64 * 1024);
      const single = Buffer.concat([view.subarray(0, 7), view.subarray(pos, pos + 4 + size), Buffer.alloc(4)]);
      parts.push(lz4DecompressFrames(single, MiB));
      pos += 4 + size;
    }
    expect(parts.length).toBeGreaterThan(4);
    expect(Buffer.compare(Buffer.concat(parts), largeText)).toBe(0);
  });

  it('malformed frames throw, never hang', () => {
    const good = Buffer.from(lz4CompressFrame(largeText.subarray(0, 5000)));
    const withByte = (at: number, value: number) => {
      const copy = Buffer.from(good);
      copy[at] = value;
      return copy;
    };
    expect(() => lz4DecompressFrames(Buffer.from('not lz4'), MiB)).toThrow(/not an LZ4 frame/);
    expect(() => lz4DecompressFrames(withByte(6, good[6]! ^ 1), MiB)).toThrow(/descriptor checksum/);
    expect(() => lz4DecompressFrames(withByte(4, 0x61), MiB)).toThrow(/dictionary/);
    expect(() => lz4DecompressFrames(good.subarray(0, good.length - 1), MiB)).toThrow(/truncated/);
    expect(() => lz4DecompressFrames(good, 1000)).toThrow(/more than 1000 bytes/);
    // A match offset reaching before the start of the output.
    const badOffset = Buffer.from('04224d186040820400000010ffff0000000000', 'hex');
    expect(() => lz4DecompressFrames(badOffset, MiB)).toThrow(/invalid LZ4 match offset 255/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }), (mutations) => {
        const bytes = Buffer.from(good);
        for (const [at, xor] of mutations) {
          const i = at % bytes.length;
          bytes[i] = bytes[i]! ^ xor;
        }
        try {
          expect(lz4DecompressFrames(bytes, MiB).length).toBeLessThanOrEqual(MiB);
        } catch (error) {
          expect(error).toBeInstanceOf(Error);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reads frames with block checksums, content checksum, content size and skippable frames', () => {
    const payload = Buffer.from('kafka '.repeat(100));
    const block = lz4CompressFrame(payload).subarray(7, -4); // header+data of the single block
    const flg = 0x40 | 0x20 | 0x10 | 0x08 | 0x04; // version 1, independent, block sum, content size, content sum
    const descriptor = Buffer.concat([Buffer.from([flg, 0x40]), Buffer.from(new BigUint64Array([BigInt(payload.length)]).buffer)]);
    const blockData = block.subarray(4);
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(n >>> 0);
      return b;
    };
    const frame = Buffer.concat([
      u32(0x184d2a53),
      u32(3),
      Buffer.from('abc'), // skippable frame
      u32(0x184d2204),
      descriptor,
      Buffer.from([(xxhash32(descriptor) >>> 8) & 0xff]),
      block.subarray(0, 4),
      blockData,
      u32(xxhash32(blockData)),
      u32(0),
      u32(xxhash32(payload)),
    ]);
    expect(Buffer.from(lz4DecompressFrames(frame, MiB)).toString()).toBe(payload.toString());
    const badContentSum = Buffer.from(frame);
    badContentSum[badContentSum.length - 1] = badContentSum[badContentSum.length - 1]! ^ 1;
    expect(() => lz4DecompressFrames(badContentSum, MiB)).toThrow(/content checksum/);
  });

  describe.skipIf(!hasCli('lz4'))('interop with the reference lz4 CLI', () => {
    it('the CLI decompresses our frames', () => {
      expect(Buffer.compare(run('lz4', ['-d', '-c'], lz4CompressFrame(largeText)), largeText)).toBe(0);
    });

    it.each([
      ['default (4 MiB blocks, content checksum)', ['-c']],
      ['64 KiB dependent blocks', ['-c', '-B4', '-BD']],
      ['block checksums', ['-c', '-B4', '-BX']],
      ['content size, level 9', ['-c', '-9', '--content-size']],
    ])('we decompress the CLI output: %s', (_name, args) => {
      const file = join(tmp, 'input.txt');
      writeFileSync(file, largeText);
      const frame = run('lz4', [...args, file]);
      expect(Buffer.compare(Buffer.from(lz4DecompressFrames(frame, MiB)), largeText)).toBe(0);
    });
  });
});

describe('snappy', () => {
  it('writes the xerial framing snappy-java writes', () => {
    // header: magic, version 1, compatible 1; one chunk: length 7 + raw snappy of "hello".
    expect(hex(snappyCompressXerial(Buffer.from('hello')))).toBe('82534e415050590000000001000000010000000705' + '10' + '68656c6c6f');
  });

  it('reads xerial (multi-chunk) and raw snappy', () => {
    const xerial = snappyCompressXerial(largeText);
    expect(xerial.readInt32BE(16 + 4 + xerial.readInt32BE(16))).toBeGreaterThan(0); // a second chunk follows
    expect(Buffer.compare(Buffer.from(snappyDecompress(xerial, MiB)), largeText)).toBe(0);
    const raw = snappyjsCompress(new Uint8Array(largeText));
    expect(Buffer.compare(Buffer.from(snappyDecompress(raw, MiB)), largeText)).toBe(0);
  });

  it('malformed input throws', () => {
    const xerial = Buffer.from(snappyCompressXerial(Buffer.from('hello hello hello')));
    xerial.writeInt32BE(1000, 16);
    expect(() => snappyDecompress(xerial, MiB)).toThrow(/runs past the data/);
    expect(() => snappyDecompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), MiB)).toThrow(/invalid snappy/);
    expect(() => snappyDecompress(snappyCompressXerial(largeText), 1000)).toThrow(/invalid snappy/);
  });
});

describe('zstd', () => {
  it(`uses ${zstdImplementation} on Node ${process.versions.node}`, () => {
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    const nodeHasZstd = major > 22 || (major === 22 && minor >= 15);
    expect(zstdImplementation).toBe(nodeHasZstd ? 'node-zlib' : 'stored-frames+fzstd');
  });

  it('the stored-frame fallback writes a standard frame of raw blocks', () => {
    expect(hex(zstdStoredFrame(Buffer.from('abc')))).toBe('28b52ffd' + 'a0' + '03000000' + '190000' + '616263');
    expect(Buffer.compare(Buffer.from(zstdDecompress(zstdStoredFrame(largeText), MiB)), largeText)).toBe(0);
  });

  it('refuses frames that declare more than the cap', () => {
    expect(() => zstdDecompress(zstdStoredFrame(largeText), 1000)).toThrow();
  });

  describe.skipIf(!hasCli('zstd'))('interop with the reference zstd CLI', () => {
    it('the CLI decompresses what we write (stored frames and, on Node >= 22.15, real compression)', () => {
      expect(Buffer.compare(run('zstd', ['-d', '-c'], zstdStoredFrame(largeText)), largeText)).toBe(0);
      expect(Buffer.compare(run('zstd', ['-d', '-c'], zstdStoredFrame(new Uint8Array(0))), Buffer.alloc(0))).toBe(0);
      expect(Buffer.compare(run('zstd', ['-d', '-c'], compress('zstd', largeText)), largeText)).toBe(0);
    });

    it.each([
      ['level 3', ['-c', '-3']],
      ['level 19 with checksum', ['-c', '-19', '--check']],
      ['no content size', ['-c', '--no-content-size']],
    ])('we decompress the CLI output: %s', (_name, args) => {
      const frame = run('zstd', args, largeText);
      expect(Buffer.compare(Buffer.from(zstdDecompress(frame, MiB)), largeText)).toBe(0);
      expect(() => zstdDecompress(frame, 1000)).toThrow();
    });
  });
});

describe('raw Snappy block decoder', () => {
  it('decodes what snappyjs encodes, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (data) => {
        expect([...uncompressBlock(snappyjsCompress(data), 1 << 20)]).toEqual([...data]);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects corrupt blocks quickly, including literal lengths that do not fit 31 bits', () => {
    // snappyjs turned this 4-byte literal length negative and walked backwards through the input.
    const negativeLiteral = Uint8Array.from([10, 0xfc, 0xfe, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(() => uncompressBlock(negativeLiteral, 1 << 20)).toThrow(/literal runs past/);
    expect(() => uncompressBlock(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), 1 << 20)).toThrow(/preamble/);
    expect(() => uncompressBlock(Uint8Array.from([0xff, 0xff, 0x03, 0x00, 0x61]), 1 << 30)).toThrow(/cannot hold/);
  });

  it('always finishes on random input, in time linear in its size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 2000 }), (data) => {
        const started = performance.now();
        try {
          uncompressBlock(data, 64 << 20);
        } catch (error) {
          expect((error as Error).message).toMatch(/^invalid snappy data/);
        }
        // A guard against hangs, not a speed claim: real inputs take microseconds.
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      { numRuns: 500 },
    );
  });
});
