/** The console's pure parts: how bytes are shown, search, merging, header lines, ranges, errors, static files. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { serveConsoleFile } from '../../console/serve';
import { errorFromResponse } from '../../console/src/api';
import {
  clampOffset,
  type FetchedRecord,
  formatBytes,
  latestStart,
  mergeRecords,
  parseHeaderLines,
  recordMatches,
  showBytes,
} from '../../console/src/format';

describe('showBytes', () => {
  it('indents JSON objects and arrays, and the indented text parses back to the same value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.array(fc.jsonValue())), (value) => {
        const shown = showBytes({ text: JSON.stringify(value) });
        expect(shown.kind).toBe('json');
        expect(JSON.parse(shown.display)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
    expect(showBytes({ text: '{"a":1}' }).display).toBe('{\n  "a": 1\n}');
  });

  it('keeps other text as it is, marks base64 and null', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const shown = showBytes({ text });
        if (shown.kind === 'text') expect(shown.display).toBe(text);
        else expect(shown.kind).toBe('json');
      }),
    );
    expect(showBytes({ text: '{not json}' })).toEqual({ kind: 'text', display: '{not json}' });
    expect(showBytes({ text: '42' })).toEqual({ kind: 'text', display: '42' });
    expect(showBytes({ base64: '/+7dzA==' })).toEqual({ kind: 'base64', display: '/+7dzA==' });
    expect(showBytes({ text: null }).kind).toBe('null');
  });
});

const recordArb = fc.record({
  partition: fc.integer({ min: 0, max: 3 }),
  offset: fc.integer({ min: 0, max: 50 }),
  timestamp: fc.integer({ min: 0, max: 10 }),
  key: fc.option(fc.string(), { nil: null }),
  value: fc.option(fc.string(), { nil: null }),
  headers: fc.array(fc.record({ key: fc.string(), value: fc.string() }), { maxLength: 2 }),
});

describe('search and merge', () => {
  it('an empty query matches everything; any piece of a key, value or header matches, in any case', () => {
    fc.assert(
      fc.property(recordArb, fc.nat(), fc.nat(), (record: FetchedRecord, a, b) => {
        expect(recordMatches(record, '  ')).toBe(true);
        const texts = [record.key ?? '', record.value ?? '', ...(record.headers ?? []).flatMap((h) => [h.key, h.value ?? ''])].filter((t) =>
          t.trim(),
        );
        if (texts.length === 0) return;
        const text = texts[a % texts.length]!;
        const start = b % text.length;
        const piece = text.slice(start, start + 3);
        if (piece.trim() && piece === piece.trim()) expect(recordMatches(record, piece)).toBe(true);
      }),
    );
    const record: FetchedRecord = {
      partition: 0,
      offset: 7,
      timestamp: 1,
      key: 'User-1',
      value: '{"item":"Book"}',
      headers: [{ key: 'trace', valueBase64: 'AAE=' }],
    };
    expect(recordMatches(record, 'user-1')).toBe(true);
    expect(recordMatches(record, '"item": "book"')).toBe(true);
    expect(recordMatches(record, 'AAE=')).toBe(true);
    expect(recordMatches(record, 'nothing')).toBe(false);
  });

  it('merging keeps each partition and offset once, in timeline order, whatever arrives twice', () => {
    fc.assert(
      fc.property(fc.array(recordArb), fc.array(recordArb), (a, b) => {
        const merged = mergeRecords(mergeRecords([], a), b);
        const ids = merged.map((r) => `${r.partition}:${r.offset}`);
        expect(new Set(ids).size).toBe(ids.length);
        expect(new Set(ids)).toEqual(new Set([...a, ...b].map((r) => `${r.partition}:${r.offset}`)));
        for (let i = 1; i < merged.length; i++) {
          const [p, q] = [merged[i - 1]!, merged[i]!];
          expect(
            p.timestamp < q.timestamp ||
              (p.timestamp === q.timestamp && (p.partition < q.partition || (p.partition === q.partition && p.offset < q.offset))),
          ).toBe(true);
        }
        expect(mergeRecords(merged, b)).toEqual(merged);
      }),
    );
  });
});

describe('header lines', () => {
  it('reads name: value lines back as they were written', () => {
    const name = fc.string({ minLength: 1 }).filter((s) => !s.includes(':') && !/[\r\n]/.test(s) && s.trim() === s && s.length > 0);
    const value = fc.string().filter((s) => !/[\r\n]/.test(s));
    fc.assert(
      fc.property(fc.array(fc.record({ key: name, value })), (headers) => {
        const text = headers.map((h) => `${h.key}: ${h.value}`).join('\n');
        expect(parseHeaderLines(`${text}\n\n`)).toEqual({ headers });
      }),
    );
  });

  it('names the line that has no name', () => {
    expect(parseHeaderLines('a: 1\n: x')).toEqual({ error: "Header line 2 (': x') needs the form name: value." });
    expect(parseHeaderLines('just text')).toMatchObject({ error: expect.stringContaining('Header line 1') });
  });
});

describe('ranges', () => {
  it('the latest n and a typed offset stay within the partition', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.integer({ min: -10, max: 3000 }), (start, length, n) => {
        const range = { partition: 0, logStartOffset: start, highWatermark: start + length };
        const from = latestStart(range, n);
        expect(from).toBeGreaterThanOrEqual(range.logStartOffset);
        expect(from).toBeLessThanOrEqual(range.highWatermark);
        expect(range.highWatermark - from).toBe(Math.min(length, Math.max(0, n)));
        const clamped = clampOffset(range, n);
        expect(clamped).toBeGreaterThanOrEqual(range.logStartOffset);
        expect(clamped).toBeLessThanOrEqual(range.highWatermark);
      }),
    );
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
  });
});

describe('errors as the API words them', () => {
  it("takes Logway's {error:{code,message}}, API Gateway's {message}, or the text", () => {
    const logway = errorFromResponse(
      409,
      'Conflict',
      '{"error":{"code":"TOPIC_ALREADY_EXISTS","message":"Topic \'a\' already exists.","topic":"a"}}',
    );
    expect(logway).toMatchObject({
      status: 409,
      code: 'TOPIC_ALREADY_EXISTS',
      message: "Topic 'a' already exists.",
      details: { topic: 'a' },
    });
    expect(errorFromResponse(403, 'Forbidden', '{"message":"Forbidden"}')).toMatchObject({ code: 'HTTP_403', message: 'Forbidden' });
    expect(errorFromResponse(502, 'Bad Gateway', '<html>bad gateway</html>')).toMatchObject({
      code: 'HTTP_502',
      message: '<html>bad gateway</html>',
    });
    expect(errorFromResponse(500, 'Internal Server Error', '')).toMatchObject({ message: 'Internal Server Error' });
  });
});

describe('static files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logway-console-files-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html>');
  writeFileSync(join(dir, 'app.js'), 'x');
  writeFileSync(join(dir, '.built'), 'stamp');
  writeFileSync(join(dir, 'notes.txt'), 'not served');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves only the build folder’s own files, never a path joined from the request', () => {
    expect(serveConsoleFile('GET', '/console/', dir)).toMatchObject({
      status: 200,
      headers: { 'content-type': 'text/html; charset=utf-8' },
    });
    expect(serveConsoleFile('GET', '/console/app.js', dir).status).toBe(200);
    for (const path of [
      '/console/../package.json',
      '/console/%2e%2e/x',
      '/console/.built',
      '/console/notes.txt',
      '/console/sub/app.js',
      '/console/missing.js',
    ])
      expect(serveConsoleFile('GET', path, dir).status, path).toBe(404);
    expect(serveConsoleFile('GET', '/console', dir)).toMatchObject({ status: 308, headers: { location: '/console/' } });
    expect(serveConsoleFile('POST', '/console/', dir)).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
    expect(JSON.parse(serveConsoleFile('GET', '/console/', join(dir, 'none')).body.toString()).error.code).toBe('NOT_FOUND');
  });
});
