/**
 * The `$default` route's function on AWS (functions/not-found.ts), called with the payload-2.0
 * events API Gateway sends it: the same answers as the local gateway's, in the contract's shape.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler } from '../../functions/not-found';

const event = (method: string, path: string): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {},
    requestContext: { requestId: 'not-found-test', http: { method, path } },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

describe('not-found function ($default route)', () => {
  it('an unknown path is 404 NOT_FOUND in the error shape, not API Gateway\'s {"message":"Not Found"}', async () => {
    const result = await handler(event('GET', '/v2/topics'));
    expect(result.statusCode).toBe(404);
    expect(result.headers?.['content-type']).toBe('application/json');
    const body = JSON.parse(result.body!);
    expect(body.error.code).toBe('NOT_FOUND');
    expect(body.error.message).toMatch(/GET \/v2\/topics/);
    expect(body.message).toBeUndefined();
  });

  it('a known path under another method is 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const result = await handler(event('PUT', '/v1/topics/orders'));
    expect(result.statusCode).toBe(405);
    expect(String(result.headers?.allow).split(', ').sort()).toEqual(['DELETE', 'GET', 'PATCH']);
    expect(JSON.parse(result.body!).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('a path that is not valid percent-encoding is 400', async () => {
    const result = await handler(event('GET', '/v1/topics/%ZZ'));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body!).error.code).toBe('INVALID_REQUEST');
  });
});
