/**
 * Hostile input at the HTTP edge: whatever a caller sends is a 4xx with a code, never a 500, and
 * nothing is written.
 */
import { describe, expect, it } from 'vitest';
import { serviceDefaults } from '../../shared/config';
import { useTestService } from '../support/local-service';

const { http } = useTestService(async (http) => {
  expect((await http.post('/v1/topics', { name: 'edges', partitions: 1 })).status).toBe(201);
});

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('request bodies nested too deeply', () => {
  it('an 8,000-deep record value is 400 INVALID_REQUEST naming the limit, and nothing is appended', async () => {
    const body = `{"records":[{"key":"k","value":${nested(8000)}}]}`;
    const response = await http.post('/v1/topics/edges/records', body);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'INVALID_REQUEST', maxDepth: serviceDefaults.maxJsonDepth });
    const topic = await http.get('/v1/topics/edges');
    expect(topic.body.partitions[0].highWatermark).toBe(0);
  });

  it('every JSON route refuses a deep body with 400', async () => {
    const deep = `{"x":${nested(5000)}}`;
    for (const [method, path] of [
      ['POST', '/v1/topics'],
      ['PATCH', '/v1/topics/edges'],
      ['POST', '/v1/fetch'],
      ['POST', '/v1/groups/g1/heartbeat'],
      ['POST', '/v1/groups/g1/offsets'],
      ['POST', '/v1/groups/g1/reset-offsets'],
    ] as const) {
      const response = await http.call(method, path, deep);
      expect(response.status, `${method} ${path}`).toBe(400);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('a value at the limit is accepted and reads back as it was', async () => {
    // The envelope {"records":[{"value": ...}]} takes 3 levels.
    const value = nested(serviceDefaults.maxJsonDepth - 3);
    const response = await http.post('/v1/topics/edges/records', `{"records":[{"value":${value}}]}`);
    expect(response.status).toBe(200);
    const fetched = await http.get(`/v1/topics/edges/partitions/0/records?offset=${response.body.offsets[0].offset}`);
    expect(fetched.body.records[0].value).toBe(value);
  });
});

describe('paths', () => {
  it('a malformed percent escape is 400 on every route shape', async () => {
    for (const path of [
      '/v1/topics/%ZZ',
      '/v1/topics/%/partitions/0/offsets',
      '/v1/groups/%G0/offsets',
      '/v1/topics/edges/partitions/%zz/records',
    ]) {
      const response = await http.get(path);
      expect(response.status, path).toBe(400);
      expect(response.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('an unknown path is 404 NOT_FOUND and a wrong method 405 with Allow', async () => {
    const missing = await http.get('/v2/topics');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const wrong = await http.delete('/v1/fetch');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});
