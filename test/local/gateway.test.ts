import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke, isTextContentType, startGateway, type HandlerLoader, type RunningGateway } from '../../infra/local/gateway';
import { routes, type RouteDefinition } from '../../shared/http/routes';

/** A handler that answers with the event it was given, so the mapping can be inspected. */
const echoLoader: HandlerLoader = async () => async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(event),
});

const echo = async (request: Parameters<typeof invoke>[0]): Promise<APIGatewayProxyEventV2> => {
  const response = await invoke(request, echoLoader);
  expect(response.status).toBe(200);
  return JSON.parse(response.body.toString()) as APIGatewayProxyEventV2;
};

describe('local gateway: request to payload-format 2.0 event', () => {
  it('carries route key, raw path, method and a request id', async () => {
    const event = await echo({ method: 'get', url: '/v1/health', headers: {}, body: Buffer.alloc(0) });
    expect(event.version).toBe('2.0');
    expect(event.routeKey).toBe('GET /v1/health');
    expect(event.rawPath).toBe('/v1/health');
    expect(event.requestContext.http.method).toBe('GET');
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });

  it('joins repeated query parameters and headers with commas and lower-cases header names', async () => {
    const event = await echo({
      method: 'GET',
      url: '/v1/health?a=1&b=two%20words&a=3',
      headers: { 'X-Trace': ['one', 'two'], 'Content-Type': 'application/json' },
      body: Buffer.alloc(0),
    });
    expect(event.rawQueryString).toBe('a=1&b=two%20words&a=3');
    expect(event.queryStringParameters).toEqual({ a: '1,3', b: 'two words' });
    expect(event.headers['x-trace']).toBe('one,two');
    expect(event.headers['content-type']).toBe('application/json');
  });

  it('passes JSON bodies as text and binary bodies as base64', async () => {
    const json = await echo({
      method: 'GET',
      url: '/v1/health',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{"a":"é"}'),
    });
    expect(json.isBase64Encoded).toBe(false);
    expect(json.body).toBe('{"a":"é"}');

    const bytes = Buffer.from([0, 255, 1, 254]);
    const binary = await echo({
      method: 'GET',
      url: '/v1/health',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(binary.isBase64Encoded).toBe(true);
    expect(Buffer.from(binary.body!, 'base64')).toEqual(bytes);
  });

  it('classifies content types as API Gateway does', () => {
    expect(isTextContentType('application/json; charset=utf-8')).toBe(true);
    expect(isTextContentType('text/plain')).toBe(true);
    expect(isTextContentType('application/vnd.api+json')).toBe(true);
    expect(isTextContentType('application/octet-stream')).toBe(false);
    expect(isTextContentType('image/png')).toBe(false);
  });

  it('extracts path parameters with the route table, decoding them', async () => {
    const route: RouteDefinition = { name: 'x', method: 'GET', path: '/v1/topics/{topic}/partitions/{partition}', summary: '', tables: {} };
    const { toLambdaEvent } = await import('../../infra/local/gateway');
    const event = toLambdaEvent({ method: 'GET', url: '/v1/topics/a.b/partitions/3', headers: {}, body: Buffer.alloc(0) }, route, {
      topic: 'a.b',
      partition: '3',
    });
    expect(event.pathParameters).toEqual({ topic: 'a.b', partition: '3' });
    expect(event.routeKey).toBe('GET /v1/topics/{topic}/partitions/{partition}');
  });
});

describe('local gateway: AWS behaviour', () => {
  it("answers an unknown path 404 NOT_FOUND in the contract's error shape, as the $default route does on AWS", async () => {
    const response = await invoke({ method: 'GET', url: '/v1/nothing-here', headers: {}, body: Buffer.alloc(0) }, echoLoader);
    expect(response.status).toBe(404);
    const body = JSON.parse(response.body.toString());
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toContain('/v1/nothing-here');
  });

  it('answers a known path under another method 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const response = await invoke({ method: 'PUT', url: '/v1/topics/orders', headers: {}, body: Buffer.alloc(0) }, echoLoader);
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET, PATCH, DELETE');
    expect(JSON.parse(response.body.toString()).error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', allow: ['GET', 'PATCH', 'DELETE'] });
  });

  it('answers a malformed percent escape in the path 400 INVALID_REQUEST, not 500', async () => {
    for (const url of ['/v1/topics/%ZZ', '/v1/topics/a%/partitions/0/records', '/v1/topics/%E0%A4%A']) {
      const response = await invoke({ method: 'GET', url, headers: {}, body: Buffer.alloc(0) }, echoLoader);
      expect(response.status, url).toBe(400);
      expect(JSON.parse(response.body.toString()).error.code).toBe('INVALID_REQUEST');
    }
  });

  it("refuses an event over Lambda's 6 MB payload limit with 413", async () => {
    const body = Buffer.alloc(6 * 1024 * 1024, 'a');
    const response = await invoke({ method: 'GET', url: '/v1/health', headers: { 'content-type': 'text/plain' }, body }, echoLoader);
    expect(response.status).toBe(413);
    expect(JSON.parse(response.body.toString())).toEqual({ message: 'Request Entity Too Large' });
  });

  it('maps a handler that throws to 500 Internal Server Error, and a status code through', async () => {
    const throwing: HandlerLoader = async () => async () => {
      throw new Error('boom');
    };
    const failed = await invoke({ method: 'GET', url: '/v1/health', headers: {}, body: Buffer.alloc(0) }, throwing);
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body.toString())).toEqual({ message: 'Internal Server Error' });

    const teapot: HandlerLoader = async () => async () => ({
      statusCode: 418,
      headers: { 'X-Custom': 'yes' },
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });
    const answered = await invoke({ method: 'GET', url: '/v1/health', headers: {}, body: Buffer.alloc(0) }, teapot);
    expect(answered.status).toBe(418);
    expect(answered.headers['x-custom']).toBe('yes');
    expect([...answered.body]).toEqual([1, 2, 3]);
  });
});

describe('GET /v1/health end to end over HTTP', () => {
  let gateway: RunningGateway;
  beforeAll(async () => {
    gateway = await startGateway({ port: 0 });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  it('answers 200 with status ok through the real handler', async () => {
    const response = await fetch(`${gateway.url}/v1/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', service: 'logway' });
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin (CSRF) with 403 and a code', async () => {
    const { request } = await import('node:http');
    const send = (headers: Record<string, string>, method = 'GET') =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const req = request(`${gateway.url}/v1/health`, { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
        });
        req.on('error', reject);
        req.end();
      });
    const own = `127.0.0.1:${gateway.port}`;
    expect((await send({ host: own })).status).toBe(200);
    expect((await send({ host: `localhost:${gateway.port}`, origin: `http://localhost:${gateway.port}` })).status).toBe(200);
    const rebinding = await send({ host: `attacker.example:${gateway.port}` });
    expect(rebinding.status).toBe(403);
    expect(rebinding.body.error.code).toBe('FORBIDDEN_HOST');
    for (const origin of ['https://evil.example', `http://127.0.0.1:${gateway.port + 1}`, 'null']) {
      const csrf = await send({ host: own, origin }, 'POST');
      expect(csrf.status, origin).toBe(403);
      expect(csrf.body.error.code).toBe('FORBIDDEN_ORIGIN');
    }
    const crossSiteGet = await send({ host: own, 'sec-fetch-site': 'cross-site' });
    expect(crossSiteGet.status).toBe(403);
  });

  it('is in the route table', () => {
    expect(routes.some((r) => r.method === 'GET' && r.path === '/v1/health')).toBe(true);
  });
});
