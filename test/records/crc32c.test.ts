import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { crc32c, crc32cImplementation, crc32cJs, loadNativeCrc32c } from '../../shared/records/crc32c';
import { kafkajs } from './kafkajs';

const require = createRequire(import.meta.url);
const native = loadNativeCrc32c();
const implementations = [['js', crc32cJs], ...(native ? [['native', native] as const] : [])] as const;

// RFC 3720 (iSCSI) appendix B.4 and the common "123456789" check value.
const VECTORS: Array<[string, Uint8Array, number]> = [
  ['32 bytes of 0x00', new Uint8Array(32), 0x8a9136aa],
  ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
  ['32 incrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
  ['32 decrementing bytes', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ['"123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
  ['empty', new Uint8Array(0), 0],
];

describe('crc32c', () => {
  for (const [name, impl] of implementations) {
    describe(`${name} implementation`, () => {
      it.each(VECTORS)('%s', (_label, data, expected) => {
        expect(impl(data)).toBe(expected);
      });

      it('continues a running CRC across chunks', () => {
        const data = new TextEncoder().encode('123456789');
        expect(impl(data.subarray(4), impl(data.subarray(0, 4)))).toBe(0xe3069283);
      });
    });
  }

  it('uses the native binding by default when it is installed', () => {
    let installed = true;
    try {
      require('@node-rs/crc32');
    } catch {
      installed = false;
    }
    expect(crc32cImplementation).toBe(installed ? 'native' : 'js');
    if (installed) expect(crc32c).not.toBe(crc32cJs);
  });

  it('JS and native agree on arbitrary data, lengths and alignments', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2100 }), fc.nat(7), fc.nat(0xffffffff), (bytes, skip, initial) => {
        const view = bytes.subarray(Math.min(skip, bytes.length));
        // KafkaJS's table-driven JS CRC32C is an independent reference too.
        expect(crc32cJs(view)).toBe(kafkajs.crc32C(Buffer.from(view)));
        if (native) {
          expect(crc32cJs(view)).toBe(native(view));
          expect(crc32cJs(view, initial)).toBe(native(view, initial));
        }
      }),
      { numRuns: 300 },
    );
  });

  describe('loading the native binding', () => {
    it('falls back (null) when the module cannot be required', () => {
      expect(
        loadNativeCrc32c(() => {
          throw new Error("Cannot find module '@node-rs/crc32-linux-arm64-gnu'");
        }),
      ).toBeNull();
    });

    it('falls back when there is no require at all (CommonJS bundle)', () => {
      expect(loadNativeCrc32c(null)).toBeNull();
    });

    it('falls back when the module lacks crc32c or computes something else', () => {
      expect(loadNativeCrc32c(() => ({}))).toBeNull();
      expect(loadNativeCrc32c(() => ({ crc32c: () => 0 }))).toBeNull();
    });

    it('accepts a working binding', () => {
      expect(loadNativeCrc32c(() => ({ crc32c: crc32cJs }))).toBe(crc32cJs);
    });
  });
});
