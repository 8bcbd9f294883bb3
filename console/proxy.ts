/**
 * The `logway console` proxy: serves the console's files and forwards `/v1/*` to a Logway API,
 * signing each forwarded request with the user's AWS credentials (SigV4, as the client does), so
 * the browser never holds them and nothing new is exposed on AWS. Because the proxy holds those
 * credentials it listens on 127.0.0.1 only and refuses a foreign Host or Origin, like the gateway.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { RequestSigner } from '../client/src/auth';
import { refuseForeignRequest, refusalBody } from '../shared/http/request-guard';
import { isConsolePath, serveConsoleFile } from './serve';
import { closeServer, listenOnLoopback } from '../shared/http/loopback';

export interface ConsoleProxyOptions {
  /** The Logway API, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com (a path prefix is kept). */
  apiUrl: string;
  /** Signs forwarded requests; absent: forwarded unsigned (a local service). */
  signer?: RequestSigner;
  /** Folder of the built console files. */
  filesDir: string;
  /** @default 0 (any free port) */
  port?: number;
}

export interface RunningConsoleProxy {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Request headers passed on to the API; the rest (cookies, Host, Origin, the browser's own) stay here. */
const forwardedRequestHeaders = ['content-type', 'accept', 'idempotency-key'];
/** Response headers passed back to the page. */
const forwardedResponseHeaders = ['content-type', 'retry-after', 'idempotent-replayed'];

/** A request body the proxy forwards at most (API Gateway's own limit is 10 MB). */
const maxBodyBytes = 10 * 1024 * 1024;

const json = (response: ServerResponse, status: number, body: unknown): void => {
  const bytes = Buffer.from(JSON.stringify(body));
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': String(bytes.length) });
  response.end(bytes);
};

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBodyBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export async function startConsoleProxy(options: ConsoleProxyOptions): Promise<RunningConsoleProxy> {
  const api = new URL(options.apiUrl);
  const basePath = api.pathname.replace(/\/+$/, '');
  let port = 0;

  const forward = async (request: IncomingMessage, response: ServerResponse, pathAndQuery: string): Promise<void> => {
    const body = await readBody(request);
    if (body === undefined) {
      return json(response, 413, {
        error: { code: 'REQUEST_TOO_LARGE', message: `The console proxy forwards bodies up to ${maxBodyBytes} bytes.` },
      });
    }
    const target = new URL(`${api.origin}${basePath}${pathAndQuery}`);
    const method = (request.method ?? 'GET').toUpperCase();
    let headers: Record<string, string> = {};
    for (const name of forwardedRequestHeaders) {
      const value = request.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    const text = body.length > 0 ? body.toString('utf8') : undefined;
    if (options.signer) {
      try {
        headers = await options.signer({ method, url: target, headers, ...(text !== undefined ? { body: text } : {}) });
      } catch (error) {
        return json(response, 502, {
          error: { code: 'SIGNING_FAILED', message: `Could not sign the request with your AWS credentials: ${(error as Error).message}` },
        });
      }
      // fetch sets Host itself from the URL.
      delete headers.host;
    }
    // The page stopping a long poll (live tail) cancels the forwarded request too.
    const abort = new AbortController();
    response.on('close', () => {
      if (!response.writableFinished) abort.abort();
    });
    let upstream: Response;
    try {
      upstream = await fetch(target, {
        method,
        headers,
        ...(text !== undefined ? { body: text } : {}),
        signal: abort.signal,
        redirect: 'manual',
      });
    } catch (error) {
      if (abort.signal.aborted) return;
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      return json(response, 502, {
        error: {
          code: 'API_UNREACHABLE',
          message: `The console proxy could not reach ${api.origin}: ${cause ?? (error as Error).message}`,
        },
      });
    }
    const bytes = Buffer.from(await upstream.arrayBuffer());
    const responseHeaders: Record<string, string> = { 'content-length': String(bytes.length), 'cache-control': 'no-store' };
    for (const name of forwardedResponseHeaders) {
      const value = upstream.headers.get(name);
      if (value !== null) responseHeaders[name] = value;
    }
    response.writeHead(upstream.status, responseHeaders);
    response.end(bytes);
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const refusal = refuseForeignRequest(request.headers, port);
    if (refusal) {
      request.resume();
      return json(response, refusal.status, refusalBody(refusal));
    }
    const url = request.url ?? '/';
    const pathname = url.split('?')[0]!;
    if (pathname === '/') {
      response.writeHead(302, { location: '/console/' });
      return void response.end();
    }
    if (isConsolePath(pathname)) {
      request.resume();
      const file = serveConsoleFile(request.method ?? 'GET', pathname, options.filesDir);
      response.writeHead(file.status, { ...file.headers, 'content-length': String(file.body.length) });
      return void response.end(file.body);
    }
    if (pathname === '/v1' || pathname.startsWith('/v1/')) return forward(request, response, url);
    request.resume();
    return json(response, 404, {
      error: { code: 'NOT_FOUND', message: `The console proxy serves /console/ and forwards /v1/*; not ${pathname.slice(0, 200)}.` },
    });
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      console.error('[logway console] proxy failure:', error);
      if (!response.headersSent)
        json(response, 500, { error: { code: 'UNKNOWN_SERVER_ERROR', message: 'The console proxy failed; see its output.' } });
      else response.destroy();
    });
  });
  // Long polls (live tail) hold a request for up to 20 s.
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  port = await listenOnLoopback(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stop: () => closeServer(server),
  };
}
