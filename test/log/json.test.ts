import { describe, expect, it } from 'vitest';
import { headerOverheadBytes, recordSize, toRecordBytes, valueBytes } from '../../shared/log/json';

describe('records on the wire', () => {
  it('counts key, value, UTF-8 header keys and header values as bytes, plus each header frame', () => {
    const record = { key: Buffer.from('k'), value: Buffer.from('vv'), headers: [{ key: 'ключ', value: Buffer.from('x') }] };
    // 'ключ' is 4 characters but 8 bytes of UTF-8.
    expect(recordSize(record)).toBe(1 + 2 + 8 + 1 + headerOverheadBytes);
    expect(recordSize({ key: null, value: null, headers: [] })).toBe(0);
  });

  it('turns JSON values into bytes as the contract says', () => {
    expect(valueBytes('é')?.toString()).toBe('é');
    expect(valueBytes({ a: [1, null] })?.toString()).toBe('{"a":[1,null]}');
    expect(valueBytes(null)).toBeNull();
    expect(toRecordBytes({ keyBase64: 'AP8=', value: 7 }).key).toEqual(Buffer.from([0, 255]));
  });
});
