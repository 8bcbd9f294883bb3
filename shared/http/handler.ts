/**
 * The adapter between API Gateway HTTP API (payload format 2.0) and Logway's library: it parses
 * the event into a typed request, calls the operation, and maps its result or error to a response.
 * Every handler in functions/ is one call to `httpHandler`.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { serviceDefaults } from '../config';
import { corruptMessage, invalidRequest, isLogwayError, serviceFault } from '../errors';
import { throttlingError } from '../log/throttling';
import { RecordsError } from '../records/errors';
import { logger } from '../runtime/logger';
import { flushMetrics } from '../runtime/metrics';
import { jsonNestingDepth } from './json-depth';

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly pathParameters: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  /** Header names in lower case, as API Gateway delivers them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly requestId: string;
  /** The body parsed as JSON; an empty body is `undefined`; malformed JSON is a 400. */
  json(): unknown;
}

export interface HttpResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export type Operation = (request: HttpRequest) => Promise<HttpResponse>;

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2, context?: Partial<Context>) => Promise<APIGatewayProxyStructuredResultV2>;

export function toHttpRequest(event: APIGatewayProxyEventV2): HttpRequest {
  const body = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (value !== undefined) query[name] = value;
  }
  const pathParameters: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.pathParameters ?? {})) {
    if (value !== undefined) pathParameters[name] = value;
  }
  return {
    method: event.requestContext.http.method,
    path: event.rawPath,
    pathParameters,
    query,
    headers,
    body,
    requestId: event.requestContext.requestId,
    json() {
      if (body.length === 0) return undefined;
      const text = body.toString('utf8');
      const depth = jsonNestingDepth(text);
      if (depth > serviceDefaults.maxJsonDepth) {
        throw invalidRequest(
          `Request body nests ${depth} levels of arrays and objects; at most ${serviceDefaults.maxJsonDepth} are accepted. Send deep structures as a string or base64 value.`,
          { field: 'body', depth, maxDepth: serviceDefaults.maxJsonDepth },
        );
      }
      try {
        return JSON.parse(text);
      } catch (error) {
        throw invalidRequest(`Request body is not valid JSON: ${(error as Error).message}`);
      }
    },
  };
}

export function toLambdaResult(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = { ...response.headers };
  if (response.body === undefined) {
    return { statusCode: response.status, headers };
  }
  headers['content-type'] ??= 'application/json';
  const body =
    typeof response.body === 'string' && headers['content-type'] !== 'application/json' ? response.body : JSON.stringify(response.body);
  return { statusCode: response.status, headers, body, isBase64Encoded: false };
}

export function errorResponse(error: unknown, requestId?: string): HttpResponse {
  error = throttlingError(error) ?? error;
  if (isLogwayError(error)) {
    const headers: Record<string, string> = {};
    if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
    return { status: error.status, body: error.toJSON(), headers };
  }
  if (error instanceof RecordsError) {
    // Stored bytes failed their checksum or could not be decoded: a fault of the service's storage.
    logger.error('Stored record batch unreadable', { error, requestId });
    return { status: 500, body: corruptMessage(error.message, error).toJSON() };
  }
  logger.error('Unhandled error', { error: error as Error, requestId });
  return { status: 500, body: serviceFault(requestId, error).toJSON() };
}

export function httpHandler(operation: Operation): LambdaHttpHandler {
  return async (event, context) => {
    const request = toHttpRequest(event);
    if (context?.awsRequestId) logger.appendKeys({ requestId: context.awsRequestId });
    try {
      return toLambdaResult(await operation(request));
    } catch (error) {
      return toLambdaResult(errorResponse(error, request.requestId));
    } finally {
      flushMetrics();
    }
  };
}
