/**
 * Answers API Gateway gives itself, before any function runs, as the client sees them: each
 * maps to a LogwayApiError with its kind, whether it is retried, and a hint; the service's own
 * `{"error": {...}}` shape keeps its code. A real HTTP server plays the gateway.
 */
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isLogwayApiError, type LogwayApiError } from '../../client/src/errors';
import { Logway } from '../../client/src/logway';
import { repoRoot } from '../../infra/project';

interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** API Gateway's own bodies (HTTP API; IAM authorization; stage throttling; integration errors). */
const gateway = {
  forbidden: { status: 403, body: { message: 'Forbidden' } },
  badSignature: {
    status: 403,
    body: {
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    },
    headers: { 'x-amzn-errortype': 'InvalidSignatureException' },
  },
  tooLarge: { status: 413, body: { message: 'Request Entity Too Large' } },
  throttled: { status: 429, body: { message: 'Too Many Requests' } },
  unavailable: { status: 503, body: { message: 'Service Unavailable' } },
  timedOut: { status: 504, body: { message: 'Endpoint request timed out' } },
  notFound: { status: 404, body: { message: 'Not Found' } },
} satisfies Record<string, Answer>;

const topic = { name: 't', topicId: 'id', config: {}, partitions: [{ partition: 0, logStartOffset: 0, highWatermark: 0 }] };

let server: Server;
let url: string;
/** Answers to give, in order, before the fake service's own; every request seen. */
let script: Answer[] = [];
let seen: { method: string; path: string; at: number }[] = [];

function answer(request: IncomingMessage): Answer {
  const next = script.shift();
  if (next) return next;
  if (request.method === 'GET' && request.url === '/v1/topics/t') return { status: 200, body: topic };
  if (request.method === 'POST' && request.url === '/v1/topics/t/records') {
    return { status: 200, body: { offsets: [{ partition: 0, offset: 0, timestamp: 1 }] } };
  }
  if (request.method === 'POST' && request.url === '/v1/topics') return { status: 201, body: topic };
  return { status: 404, body: { error: { code: 'NOT_FOUND', message: `No route ${request.method} ${request.url}.` } } };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push({ method: request.method!, path: request.url!, at: Date.now() });
    request.resume();
    request.on('end', () => {
      const { status, body, headers } = answer(request);
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  script = [];
  seen = [];
});

const fastRetry = { retries: 3, initialRetryTimeMs: 5, maxRetryTimeMs: 20 };
const client = () => new Logway({ url, retry: fastRetry });
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => {
      expect(isLogwayApiError(error)).toBe(true);
      return error as LogwayApiError;
    },
  );

describe("API Gateway's own answers", () => {
  it('403 Forbidden (IAM denies the route) is an authorization error, not retried', async () => {
    script = [gateway.forbidden];
    const error = await failure(client().admin().describeTopic('t'));
    expect(error).toMatchObject({
      status: 403,
      code: 'HTTP_403',
      message: 'Forbidden',
      origin: 'gateway',
      kind: 'authorization',
      retriable: false,
    });
    expect(error.hint).toMatch(/execute-api:Invoke/);
    expect(seen).toHaveLength(1);
  });

  it('403 for a bad SigV4 signature is an authentication error, not retried', async () => {
    script = [gateway.badSignature];
    const error = await failure(client().admin().describeTopic('t'));
    expect(error).toMatchObject({ status: 403, origin: 'gateway', kind: 'authentication', retriable: false });
    expect(error.details).toEqual({ errorType: 'InvalidSignatureException' });
    expect(error.hint).toMatch(/credentials.*region.*clock/);
    expect(String(error)).toContain('signature');
    expect(seen).toHaveLength(1);
    // Without the header, the message alone says it.
    script = [{ ...gateway.badSignature, headers: {} }];
    expect((await failure(client().admin().describeTopic('t'))).kind).toBe('authentication');
  });

  it('413 Request Entity Too Large is not retried, and says to send less', async () => {
    script = [{ status: 200, body: topic }, gateway.tooLarge];
    const producer = client().producer({ lingerMs: 0 });
    const error = await failure(producer.send({ topic: 't', messages: [{ value: 'x' }] }));
    expect(error).toMatchObject({ status: 413, code: 'HTTP_413', origin: 'gateway', kind: 'too-large', retriable: false });
    expect(error.hint).toMatch(/fewer records/);
    expect(seen.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('429 Too Many Requests (stage throttling) is retried, not sooner than Retry-After', async () => {
    script = [{ ...gateway.throttled, headers: { 'retry-after': '0.3' } }];
    const retried: LogwayApiError[] = [];
    const logway = new Logway({ url, retry: fastRetry, onRetry: (event) => retried.push(event.error) });
    await expect(logway.admin().describeTopic('t')).resolves.toMatchObject({ name: 't' });
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ status: 429, origin: 'gateway', kind: 'throttled', retriable: true, retryAfterMs: 300 });
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(290);
  });

  it('429 without Retry-After is retried with backoff, even where only throttling may be retried', async () => {
    script = [gateway.throttled, gateway.throttled];
    await expect(client().admin().createTopic({ topic: 't' })).resolves.toMatchObject({ name: 't' });
    expect(seen).toHaveLength(3);
  });

  it('503 Service Unavailable and 504 Endpoint request timed out are retried when the request is safe to repeat', async () => {
    script = [gateway.unavailable, gateway.timedOut];
    await expect(client().admin().describeTopic('t')).resolves.toMatchObject({ name: 't' });
    expect(seen).toHaveLength(3);

    // A produce carries an Idempotency-Key, so its retries are safe too.
    script = [{ status: 200, body: topic }, gateway.timedOut];
    seen = [];
    const producer = client().producer({ lingerMs: 0 });
    await expect(producer.send({ topic: 't', messages: [{ value: 'x' }] })).resolves.toHaveLength(1);
    expect(seen.filter((r) => r.method === 'POST')).toHaveLength(2);

    // Creating a topic is not: a 504 may have created it.
    script = [gateway.timedOut];
    seen = [];
    const error = await failure(client().admin().createTopic({ topic: 't' }));
    expect(error).toMatchObject({ status: 504, origin: 'gateway', kind: 'timeout', retriable: true });
    expect(error.hint).toMatch(/30 s/);
    expect(seen).toHaveLength(1);
  });

  it('gives up on a lasting 503 after the configured retries, with the gateway’s message', async () => {
    script = Array.from({ length: 10 }, () => gateway.unavailable);
    const error = await failure(client().admin().describeTopic('t'));
    expect(error).toMatchObject({ status: 503, code: 'HTTP_503', message: 'Service Unavailable', kind: 'unavailable' });
    expect(seen).toHaveLength(fastRetry.retries + 1);
  });
});

describe('routes the API does not have', () => {
  it("API Gateway's 404 and the service's NOT_FOUND are both an unknown route, not retried", async () => {
    script = [gateway.notFound];
    const fromGateway = await failure(client().admin().describeTopic('t'));
    expect(fromGateway).toMatchObject({ status: 404, code: 'HTTP_404', origin: 'gateway', kind: 'unknown-route', retriable: false });
    const fromService = await failure(client().http.request({ method: 'GET', path: '/v2/nothing' }));
    expect(fromService).toMatchObject({ status: 404, code: 'NOT_FOUND', origin: 'service', kind: 'unknown-route', retriable: false });
    expect(fromService.hint).toMatch(/no such route/);
    expect(seen).toHaveLength(2);
  });
});

describe("the service's own error shape", () => {
  it('keeps its code and details, and says who answered', async () => {
    script = [
      { status: 404, body: { error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: "Topic 't' does not exist.", topic: 't' } } },
      { status: 429, body: { error: { code: 'THROTTLING_QUOTA_EXCEEDED', message: 'slow down' } }, headers: { 'retry-after': '0' } },
    ];
    const unknown = await failure(client().admin().describeTopic('t'));
    expect(unknown).toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', origin: 'service', kind: 'not-found', details: { topic: 't' } });
    expect(unknown.hint).toBeUndefined();
    expect(String(unknown)).toBe("LogwayApiError [UNKNOWN_TOPIC_OR_PARTITION] (HTTP 404): Topic 't' does not exist.");
    await expect(client().admin().describeTopic('t')).resolves.toMatchObject({ name: 't' });
    expect(seen).toHaveLength(3);
  });
});

describe('the CLI', () => {
  it('prints the gateway’s message and the hint', async () => {
    script = [gateway.forbidden];
    const result = await promisify(execFile)(process.execPath, [
      join(repoRoot, 'cli', 'logway.mjs'),
      '--url',
      url,
      'topics',
      'describe',
      't',
    ]).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 1 });
    expect((result as { stderr: string }).stderr).toBe(
      "Error [HTTP_403]: Forbidden\n  IAM does not allow this caller execute-api:Invoke on the route: see the caller's policy (docs/deploy.md).\n",
    );
  });
});
