/**
 * The HTTP layer every part of the client uses: JSON in and out, SigV4 or no auth, per-request
 * timeouts, and retries (exponential backoff with jitter, honouring Retry-After) on 429, 5xx and
 * requests that got no answer. Errors become `LogwayApiError`.
 */
import {
  defaultAuthFor,
  regionFor,
  sigv4Signer,
  type AuthMode,
  type AwsCredentials,
  type AwsCredentialsProvider,
  type RequestSigner,
} from './auth';
import { clientError, errorFromResponse, LogwayApiError } from './errors';
import { backoffDelay, parseRetryAfter, retryOptions, sleep, type RetryOptions } from './retry';

export const defaultUrl = 'http://127.0.0.1:8080';

export interface ConnectionOptions {
  /** The service's base URL, e.g. http://127.0.0.1:8080 or https://abc.execute-api.eu-west-1.amazonaws.com. */
  url?: string;
  /** `none` (default for loopback URLs) or `sigv4` (default for any other URL). */
  auth?: AuthMode | 'auto';
  /** Signing region; default: from an execute-api URL, else AWS_REGION. */
  region?: string;
  /** Credentials for SigV4; default: the AWS SDK's default provider chain. */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** Timeout of one HTTP attempt (long polls get their wait on top). Default 30000. */
  requestTimeoutMs?: number;
  /** Retry policy of every request (the consumer's heartbeats handle failures themselves). */
  retry?: Partial<RetryOptions>;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Called before each retry (logging, tests). */
  onRetry?: (event: RetryEvent) => void;
  /** The fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
}

export interface RetryEvent {
  method: string;
  path: string;
  attempt: number;
  delayMs: number;
  error: LogwayApiError;
}

/**
 * Which failures a request may retry:
 * - `all`: safe to repeat (reads, idempotent writes, produce with an Idempotency-Key);
 * - `throttled`: only 429, which the service answers before changing anything;
 * - `none`: the caller handles failures.
 */
export type RetryPolicy = 'all' | 'throttled' | 'none';

export interface RequestOptions {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE' | 'PUT';
  path: string;
  query?: Record<string, string | number | undefined>;
  /** A JSON value, serialised once, so every retry sends the same bytes. */
  body?: unknown;
  /** The body as JSON text already (takes precedence over `body`). */
  rawBody?: string;
  headers?: Record<string, string>;
  retry?: RetryPolicy;
  /** Overrides the transport's retry options for this request. */
  retryOptions?: RetryOptions;
  /** Overrides the attempt timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

export class HttpTransport {
  readonly url: URL;
  readonly auth: AuthMode;
  readonly retry: RetryOptions;
  private readonly signer: RequestSigner | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly options: ConnectionOptions = {}) {
    const base = options.url ?? defaultUrl;
    try {
      this.url = new URL(base.endsWith('/') ? base : `${base}/`);
    } catch {
      throw clientError('INVALID_URL', `'${base}' is not a URL (expected e.g. ${defaultUrl}).`);
    }
    this.auth = !options.auth || options.auth === 'auto' ? defaultAuthFor(this.url) : options.auth;
    this.signer = this.auth === 'sigv4' ? sigv4Signer(regionFor(this.url, options.region), options.credentials) : undefined;
    this.retry = retryOptions(options.retry);
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** Sends the request, retrying as its policy allows; resolves with a 2xx response, else throws LogwayApiError. */
  async request<T = unknown>(request: RequestOptions): Promise<HttpResponse<T>> {
    const target = new URL(request.path.replace(/^\//, ''), this.url);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) target.searchParams.set(name, String(value));
    }
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    const policy = request.retry ?? 'all';
    const options = request.retryOptions ?? this.retry;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt<T>(request, target, body);
      } catch (error) {
        if (!(error instanceof LogwayApiError) || request.signal?.aborted) throw error;
        const allowed = policy === 'all' ? error.retriable : policy === 'throttled' ? error.status === 429 : false;
        if (!allowed || attempt >= options.retries) throw error;
        const delayMs = backoffDelay(attempt, options, error.retryAfterMs);
        this.options.onRetry?.({ method: request.method, path: target.pathname, attempt: attempt + 1, delayMs, error });
        await sleep(delayMs, request.signal);
      }
    }
  }

  private async attempt<T>(request: RequestOptions, target: URL, body: string | undefined): Promise<HttpResponse<T>> {
    let headers: Record<string, string> = {
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...this.options.headers,
      ...request.headers,
    };
    if (this.signer) headers = await this.signer({ method: request.method, url: target, headers, ...(body !== undefined ? { body } : {}) });
    const timeoutMs = request.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(target, { method: request.method, headers, ...(body !== undefined ? { body } : {}), signal });
      text = await response.text();
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason ?? error;
      if (timeout.aborted) {
        throw clientError('REQUEST_TIMEOUT', `${request.method} ${target.pathname} got no response within ${timeoutMs} ms.`, error);
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw clientError(
        'NETWORK_ERROR',
        `${request.method} ${target.origin}${target.pathname} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}.`,
        error,
      );
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (response.status >= 200 && response.status < 300) return { status: response.status, body: parsed as T, headers: response.headers };
    throw errorFromResponse(
      response.status,
      parsed,
      parseRetryAfter(response.headers.get('retry-after')),
      response.headers.get('x-amzn-errortype'),
    );
  }
}

/** Encodes one path segment (topic and group names are URL-safe already, but be exact). */
export const segment = (value: string | number) => encodeURIComponent(String(value));
