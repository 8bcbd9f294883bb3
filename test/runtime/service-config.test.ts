/** Service settings from the environment (shared/config.ts): a bad value stops the function at start, with the variable named. */
import { describe, expect, it } from 'vitest';
import { loadServiceConfig, serviceDefaults } from '../../shared/config';

describe('loadServiceConfig', () => {
  it('takes the defaults, and a variable over them', () => {
    expect(loadServiceConfig({}).inlineBatchMaxBytes).toBe(serviceDefaults.inlineBatchMaxBytes);
    expect(loadServiceConfig({ LOGWAY_INLINE_BATCH_MAX_BYTES: '8192' }).inlineBatchMaxBytes).toBe(8192);
  });

  it('refuses a value that is not a non-negative number', () => {
    expect(() => loadServiceConfig({ LOGWAY_INLINE_BATCH_MAX_BYTES: 'lots' })).toThrow(/LOGWAY_INLINE_BATCH_MAX_BYTES=lots/);
    expect(() => loadServiceConfig({ LOGWAY_INLINE_BATCH_MAX_BYTES: '-1' })).toThrow(/non-negative/);
  });

  it('refuses an inline batch size that would put a chunk near the 400 KB item limit', () => {
    expect(loadServiceConfig({ LOGWAY_INLINE_BATCH_MAX_BYTES: String(256 * 1024) }).inlineBatchMaxBytes).toBe(256 * 1024);
    expect(() => loadServiceConfig({ LOGWAY_INLINE_BATCH_MAX_BYTES: String(256 * 1024 + 1) })).toThrow(/400 KB/);
  });
});
