/**
 * The local gateway: a Node HTTP server on 127.0.0.1 that does what API Gateway's HTTP API does
 * in the cloud. It routes with the same route table, turns each request into a payload-format
 * 2.0 event, calls the route's Lambda handler in-process, and writes the handler's result, so
 * what runs locally is what runs in Lambda. It also enforces the limits a caller would meet on
 * AWS, with the responses AWS gives.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { serviceDefaults } from '../../shared/config';
import { matchRoute, type RouteDefinition } from '../../shared/http/routes';
import { type HttpResponse, type LambdaHttpHandler, toLambdaResult } from '../../shared/http/handler';
import { notFoundResponse } from '../../shared/http/not-found';
import { refuseForeignRequest, refusalBody } from '../../shared/http/request-guard';
import { runAsFunction } from '../../shared/runtime/aws';
import { consoleFilesDir } from '../../console/assets';
import { isConsolePath, serveConsoleFile } from '../../console/serve';
import { closeServer, listenOnLoopback } from '../../shared/http/loopback';

/** API Gateway HTTP API's request body quota. */
export const httpApiBodyLimitBytes = 10 * 1024 * 1024;

const repoRoot = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..');

/** Content types API Gateway hands to Lambda as text; any other body arrives base64-encoded. */
export function isTextContentType(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return (
    type.startsWith('text/') ||
    type === 'application/json' ||
    type === 'application/javascript' ||
    type === 'application/xml' ||
    type.endsWith('+json') ||
    type.endsWith('+xml') ||
    type === 'application/x-www-form-urlencoded'
  );
}

export interface GatewayRequest {
  method: string;
  /** Path and query string as sent, e.g. `/v1/topics/a/records?offset=3`. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  sourceIp?: string;
}

/** Builds the payload-format 2.0 event API Gateway would send for this request and route. */
export function toLambdaEvent(
  request: GatewayRequest,
  route: RouteDefinition,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const url = new URL(request.url, 'http://localhost');
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    if (lower === 'cookie') {
      cookies.push(...[value].flat().flatMap((v) => v.split(';').map((c) => c.trim())));
      continue;
    }
    // API Gateway joins repeated headers with commas.
    headers[lower] = Array.isArray(value) ? value.join(',') : value;
  }
  const queryStringParameters: Record<string, string> = {};
  for (const name of new Set(url.searchParams.keys())) {
    queryStringParameters[name] = url.searchParams.getAll(name).join(',');
  }
  const isText = isTextContentType(headers['content-type']);
  const hasBody = request.body.length > 0;
  const now = new Date();
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies.length ? { cookies } : {}),
    headers,
    ...(Object.keys(queryStringParameters).length ? { queryStringParameters } : {}),
    ...(Object.keys(pathParameters).length ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: request.method.toUpperCase(),
        path: url.pathname,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(hasBody ? { body: isText ? request.body.toString('utf8') : request.body.toString('base64') } : {}),
    isBase64Encoded: hasBody && !isText,
  };
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const awsError = (status: number, message: string): GatewayResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ message })),
});

const fromHttpResponse = (response: HttpResponse): GatewayResponse => fromLambdaResult(toLambdaResult(response));

/** Maps a Lambda result to HTTP the way API Gateway does for payload format 2.0. */
export function fromLambdaResult(result: APIGatewayProxyResultV2): GatewayResponse {
  if (typeof result === 'string' || typeof result !== 'object' || result === null || !('statusCode' in result)) {
    // A bare value is taken as a 200 JSON body.
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result)) };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {})) headers[name.toLowerCase()] = String(value);
  const body = structured.body ? Buffer.from(structured.body, structured.isBase64Encoded ? 'base64' : 'utf8') : Buffer.alloc(0);
  return { status: structured.statusCode ?? 200, headers, body };
}

export type HandlerLoader = (route: RouteDefinition) => Promise<LambdaHttpHandler>;

const importedHandlers = new Map<string, Promise<LambdaHttpHandler>>();

/**
 * Imports `functions/<name>.ts` once, as the Lambda runtime loads one bundle per function and
 * keeps it for the environment's life. (A dynamic import per request would cost each request a
 * round trip to tsx's loader thread.)
 */
export const importHandler: HandlerLoader = (route) => {
  let handler = importedHandlers.get(route.name);
  if (!handler) {
    handler = import(pathToFileURL(join(repoRoot, 'functions', `${route.name}.ts`)).href).then(
      (module: { handler: LambdaHttpHandler }) => module.handler,
    );
    // A failed import is not kept: the next request tries again, as a new Lambda environment would.
    handler.catch(() => importedHandlers.delete(route.name));
    importedHandlers.set(route.name, handler);
  }
  return handler;
};

/** Handles one request exactly as API Gateway + Lambda would. */
export async function invoke(request: GatewayRequest, loadHandler: HandlerLoader = importHandler): Promise<GatewayResponse> {
  const path = new URL(request.url, 'http://localhost').pathname;
  const match = matchRoute(request.method, path);
  // On AWS the $default route's function gives the same answer (functions/not-found.ts).
  if (match.kind !== 'matched') return fromHttpResponse(notFoundResponse(request.method, path));
  if (request.body.length > httpApiBodyLimitBytes) return awsError(413, 'Request Entity Too Large');
  const event = toLambdaEvent(request, match.route, match.pathParameters);
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  if (eventBytes > serviceDefaults.lambdaPayloadLimitBytes) {
    // Lambda refuses the invocation (RequestEntityTooLargeException); API Gateway answers 413.
    return awsError(413, 'Request Entity Too Large');
  }
  let result: APIGatewayProxyResultV2;
  try {
    const handler = await loadHandler(match.route);
    // As on Lambda, the handler runs as its own function (and role): see runAsFunction.
    result = await runAsFunction(match.route.name, () =>
      handler(event, { awsRequestId: event.requestContext.requestId, functionName: match.route.name }),
    );
  } catch (error) {
    // An exception that escapes a handler is a failed invocation: API Gateway hides it as a 500.
    console.error(`[logway] handler ${match.route.name} threw:`, error);
    return awsError(500, 'Internal Server Error');
  }
  if (Buffer.byteLength(JSON.stringify(result)) > serviceDefaults.lambdaPayloadLimitBytes) {
    console.error(`[logway] handler ${match.route.name} returned more than Lambda's 6 MB response limit`);
    return awsError(500, 'Internal Server Error');
  }
  return fromLambdaResult(result);
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(tooLarge ? 'too-large' : Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function write(response: ServerResponse, result: GatewayResponse): void {
  response.writeHead(result.status, { ...result.headers, 'content-length': String(result.body.length) });
  response.end(result.body);
}

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  stop(): Promise<void>;
}

/** How long stop() waits for handlers still running (a long poll may have minutes left). */
const drainMs = 2_000;

export async function startGateway(options: { port?: number; loadHandler?: HandlerLoader } = {}): Promise<RunningGateway> {
  const inFlight = new Set<Promise<void>>();
  // Known once listening; requests arrive only after that.
  let port = 0;
  const server = createServer((request, response) => {
    const handled = handle(request, response).finally(() => inFlight.delete(handled));
    inFlight.add(handled);
  });
  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      const refusal = refuseForeignRequest(request.headers, port);
      if (refusal) {
        request.resume();
        return write(response, fromHttpResponse({ status: refusal.status, body: refusalBody(refusal) }));
      }
      // The web console's static files, under the same Host/Origin check (built on demand).
      const pathname = (request.url ?? '/').split('?')[0]!;
      if (isConsolePath(pathname)) {
        request.resume();
        return write(response, serveConsoleFile(request.method ?? 'GET', pathname, await consoleFilesDir()));
      }
      const body = await readBody(request, httpApiBodyLimitBytes);
      if (body === 'too-large') return write(response, awsError(413, 'Request Entity Too Large'));
      const result = await invoke(
        {
          method: request.method ?? 'GET',
          url: request.url ?? '/',
          headers: request.headers,
          body,
          sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        },
        options.loadHandler,
      );
      write(response, result);
    } catch (error) {
      console.error('[logway] gateway failure:', error);
      if (!response.headersSent) write(response, awsError(500, 'Internal Server Error'));
    }
  };
  // Long polls hold a request for up to 20 s; the default timeouts would cut them.
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  port = await listenOnLoopback(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    stop: async () => {
      const closed = closeServer(server);
      // Let running handlers finish before the caller stops the storage under them.
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((resolve) => setTimeout(resolve, drainMs).unref())]);
      await closed;
    },
  };
}
