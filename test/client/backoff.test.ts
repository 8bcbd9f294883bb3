/** Backoff and retry policy of the client's HTTP layer, and its request signing. */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultAuthFor, NodeSha256, regionFor, sigv4Signer } from '../../client/src/auth';
import { LogwayApiError } from '../../client/src/errors';
import { HttpTransport } from '../../client/src/http';
import { backoffDelay, defaultRetryOptions, parseRetryAfter, type RetryOptions } from '../../client/src/retry';

const options: RetryOptions = { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 2000, multiplier: 2 };

describe('backoffDelay', () => {
  it('grows exponentially, jittered within [ceiling/2, ceiling]', () => {
    const ceilings = [100, 200, 400, 800, 1600, 2000, 2000];
    ceilings.forEach((ceiling, attempt) => {
      expect(backoffDelay(attempt, options, 0, () => 0)).toBe(ceiling / 2);
      expect(backoffDelay(attempt, options, 0, () => 0.999999)).toBe(ceiling);
      for (let i = 0; i < 50; i++) {
        const delay = backoffDelay(attempt, options);
        expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    });
  });

  it('spreads clients that fail together', () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(4, options)));
    expect(delays.size).toBeGreaterThan(50);
  });

  it('never retries sooner than Retry-After', () => {
    expect(backoffDelay(0, options, 5000, () => 0.5)).toBe(5000);
    expect(backoffDelay(3, options, 10, () => 0)).toBe(400);
  });

  it('has sane defaults', () => {
    expect(defaultRetryOptions.retries).toBeGreaterThan(0);
    expect(backoffDelay(100, defaultRetryOptions, 0, () => 1)).toBe(defaultRetryOptions.maxRetryTimeMs);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('1')).toBe(1000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter('1.5')).toBe(1500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('HttpTransport', () => {
  const failing = (responses: (() => Response)[]) => {
    let calls = 0;
    const fetchImpl = (async () => {
      const next = responses[Math.min(calls, responses.length - 1)]!;
      calls++;
      return next();
    }) as unknown as typeof fetch;
    return { fetchImpl, calls: () => calls };
  };
  const status =
    (code: number, body: unknown = { error: { code: 'X', message: 'x' } }, headers: Record<string, string> = {}) =>
    () =>
      new Response(JSON.stringify(body), { status: code, headers });
  const fast = { retries: 3, initialRetryTimeMs: 1, maxRetryTimeMs: 2 };

  it('retries 5xx and 429 under the default policy, up to `retries`, reporting each retry', async () => {
    const { fetchImpl, calls } = failing([status(500), status(429), status(502), status(200, { ok: true })]);
    const retries: number[] = [];
    const http = new HttpTransport({ url: 'http://localhost:1', fetch: fetchImpl, retry: fast, onRetry: (e) => retries.push(e.attempt) });
    await expect(http.request({ method: 'GET', path: '/v1/x' })).resolves.toMatchObject({ status: 200, body: { ok: true } });
    expect(calls()).toBe(4);
    expect(retries).toEqual([1, 2, 3]);
  });

  it('retries the 4xx codes the service catalogue marks retriable, and no other 4xx', async () => {
    // 409 CONCURRENT_TRANSACTIONS: a lost race, or an earlier attempt under the Idempotency-Key still appending.
    const inProgress = { error: { code: 'CONCURRENT_TRANSACTIONS', message: 'still being appended' } };
    const a = failing([status(409, inProgress), status(200, { ok: true })]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: a.fetchImpl, retry: fast }).request({ method: 'POST', path: '/x' }),
    ).resolves.toMatchObject({ status: 200 });
    expect(a.calls()).toBe(2);
    const b = failing([status(409, { error: { code: 'TOPIC_ALREADY_EXISTS', message: 'taken' } })]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: b.fetchImpl, retry: fast }).request({ method: 'POST', path: '/x' }),
    ).rejects.toMatchObject({ status: 409, code: 'TOPIC_ALREADY_EXISTS', retriable: false });
    expect(b.calls()).toBe(1);
  });

  it("retries only 429 under 'throttled', and nothing under 'none'", async () => {
    const a = failing([status(500)]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: a.fetchImpl, retry: fast }).request({
        method: 'POST',
        path: '/x',
        retry: 'throttled',
      }),
    ).rejects.toMatchObject({ status: 500 });
    expect(a.calls()).toBe(1);
    const b = failing([status(429), status(201, {})]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: b.fetchImpl, retry: fast }).request({
        method: 'POST',
        path: '/x',
        retry: 'throttled',
      }),
    ).resolves.toMatchObject({ status: 201 });
    const c = failing([status(503)]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: c.fetchImpl, retry: fast }).request({
        method: 'POST',
        path: '/x',
        retry: 'none',
      }),
    ).rejects.toMatchObject({ status: 503 });
    expect(c.calls()).toBe(1);
  });

  it('maps error bodies to LogwayApiError: the service error, or the gateway message', async () => {
    const service = failing([status(416, { error: { code: 'OFFSET_OUT_OF_RANGE', message: 'out', logStartOffset: 0, highWatermark: 3 } })]);
    const error = await new HttpTransport({ url: 'http://localhost:1', fetch: service.fetchImpl })
      .request({ method: 'GET', path: '/x' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogwayApiError);
    expect(error).toMatchObject({
      status: 416,
      code: 'OFFSET_OUT_OF_RANGE',
      message: 'out',
      details: { logStartOffset: 0, highWatermark: 3 },
    });
    const gateway = failing([status(403, { message: 'Forbidden' })]);
    await expect(
      new HttpTransport({ url: 'http://localhost:1', fetch: gateway.fetchImpl }).request({ method: 'GET', path: '/x' }),
    ).rejects.toMatchObject({
      status: 403,
      code: 'HTTP_403',
      message: 'Forbidden',
    });
  });

  it('reports a request without an answer as REQUEST_TIMEOUT, retriably', async () => {
    const http = new HttpTransport({
      url: 'http://localhost:1',
      fetch: ((_u: unknown, init: RequestInit) =>
        new Promise((_resolve, reject) =>
          init.signal!.addEventListener('abort', () => reject(init.signal!.reason)),
        )) as unknown as typeof fetch,
      retry: { retries: 0 },
    });
    const error = (await http.request({ method: 'GET', path: '/x', timeoutMs: 50 }).catch((e: unknown) => e)) as LogwayApiError;
    expect(error).toMatchObject({ status: 0, code: 'REQUEST_TIMEOUT' });
    expect(error.retriable).toBe(true);
  });

  it('reports an unreachable service as NETWORK_ERROR', async () => {
    const http = new HttpTransport({ url: 'http://127.0.0.1:9', retry: { retries: 0 } });
    await expect(http.request({ method: 'GET', path: '/v1/health' })).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });
});

describe('auth', () => {
  it('signs nothing for loopback URLs and SigV4 for others, by default', () => {
    expect(defaultAuthFor(new URL('http://127.0.0.1:8080'))).toBe('none');
    expect(defaultAuthFor(new URL('http://localhost:4566'))).toBe('none');
    expect(defaultAuthFor(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com'))).toBe('sigv4');
    expect(new HttpTransport({ url: 'http://localhost:8080' }).auth).toBe('none');
    expect(new HttpTransport({ url: 'https://abc.execute-api.us-east-2.amazonaws.com' }).auth).toBe('sigv4');
  });

  it('takes the region from an execute-api URL, else the option or AWS_REGION', () => {
    expect(regionFor(new URL('https://abc123.execute-api.eu-west-1.amazonaws.com'), undefined, {})).toBe('eu-west-1');
    expect(regionFor(new URL('https://logs.example.com'), 'ap-south-1', {})).toBe('ap-south-1');
    expect(regionFor(new URL('https://logs.example.com'), undefined, { AWS_REGION: 'us-west-2' })).toBe('us-west-2');
    expect(() => regionFor(new URL('https://logs.example.com'), undefined, {})).toThrow(/region/);
  });

  it('hashes with node:crypto as the signer expects', async () => {
    const hmac = new NodeSha256('secret');
    hmac.update('message');
    expect(Buffer.from(await hmac.digest()).toString('hex')).toBe(createHmac('sha256', 'secret').update('message').digest('hex'));
  });

  it('signs requests for execute-api with SigV4', async () => {
    const sign = sigv4Signer('eu-west-1', {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'token',
    });
    const headers = await sign({
      method: 'POST',
      url: new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/v1/topics/t/records?x=1'),
      headers: { 'content-type': 'application/json' },
      body: '{"records":[]}',
    });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-amz-security-token']).toBe('token');
  });

  it('sends the signature with each request', async () => {
    let seen: Headers | undefined;
    const http = new HttpTransport({
      url: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
      credentials: async () => ({ accessKeyId: 'AKID', secretAccessKey: 'secret' }),
      fetch: (async (_url: unknown, init: RequestInit) => {
        seen = new Headers(init.headers);
        return new Response('{}', { status: 200 });
      }) as unknown as typeof fetch,
    });
    await http.request({ method: 'GET', path: '/v1/topics' });
    expect(seen?.get('authorization')).toContain('Credential=AKID/');
  });
});
