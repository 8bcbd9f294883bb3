import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/project';
import { errorCatalogue, errorCodes } from '../../shared/error-codes';
import { LogwayError, throttled } from '../../shared/errors';

describe('the error catalogue', () => {
  it("gives every code a 4xx or 5xx status, and only throttling, races and the service's faults are retriable", () => {
    for (const code of errorCodes) {
      const { status, retriable } = errorCatalogue[code];
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
      if (retriable) expect([409, 429, 500, 503], code).toContain(status);
    }
  });

  it('is what a LogwayError takes its status and retriability from, and it keeps its cause', () => {
    const cause = new Error('DynamoDB said no');
    const error = throttled('slow down', { topic: 't' }, { cause });
    expect(error).toBeInstanceOf(LogwayError);
    expect(error.status).toBe(429);
    expect(error.retriable).toBe(true);
    expect(error.retryAfterSeconds).toBe(1);
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({ error: { code: 'THROTTLING_QUOTA_EXCEEDED', message: 'slow down', topic: 't' } });
  });

  it('is documented: docs/api.md names every code', () => {
    const api = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
    const missing = errorCodes.filter((code) => !api.includes(code));
    expect(missing).toEqual([]);
  });
});

describe('the topic config registry', () => {
  it('is documented: docs/api.md lists every config with its default', async () => {
    const { topicConfigNames, topicConfigRegistry } = await import('../../shared/topics/configs');
    const api = readFileSync(join(repoRoot, 'docs', 'api.md'), 'utf8');
    for (const name of topicConfigNames) {
      const cell = (text: string) => `\\|\\s*\`${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\`\\s*`;
      expect(api, name).toMatch(new RegExp(`${cell(name)}${cell(JSON.stringify(topicConfigRegistry[name].default))}\\|`));
    }
  });
});
