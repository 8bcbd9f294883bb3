/**
 * A local Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for handler modules
 * on this machine, so that the trigger dispatcher goes through the real @aws-sdk/client-lambda
 * client locally as on AWS. It binds 127.0.0.1 and refuses a foreign Host or Origin, like the
 * gateway.
 *
 * Each function runs in worker threads (lambda-worker.ts), one invocation at a time per worker,
 * like Lambda's execution environments: warm workers are reused; an invocation that outlives the
 * timeout is answered as Lambda answers a timeout and its worker is terminated (a looping handler
 * blocks nothing); when every worker of a function is busy at its concurrency the call is
 * throttled (429 TooManyRequestsException), as a reserved-concurrency limit would.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { refuseForeignRequest, refusalBody } from '../../shared/http/request-guard';
import { functionBaseName } from '../../shared/triggers/model';
import { closeServer, listenOnLoopback } from '../../shared/http/loopback';

export interface LocalFunction {
  readonly name: string;
  /** Absolute path of the module exporting `handler`. */
  readonly modulePath: string;
}

/** Parses LOGWAY_FUNCTIONS: `name=path/to/module.ts,other=path.ts` (paths relative to `cwd`). */
export function parseFunctionList(spec: string, cwd: string = process.cwd()): LocalFunction[] {
  const functions: LocalFunction[] = [];
  for (const entry of spec
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf('=');
    const name = at > 0 ? entry.slice(0, at).trim() : '';
    const path = at > 0 ? entry.slice(at + 1).trim() : '';
    if (!/^[a-zA-Z0-9-_]{1,64}$/.test(name) || !path) {
      throw new Error(`LOGWAY_FUNCTIONS entry '${entry}' must be name=path/to/module.ts (a name of 1 to 64 of [a-zA-Z0-9-_])`);
    }
    const modulePath = isAbsolute(path) ? path : resolve(cwd, path);
    if (!existsSync(modulePath)) throw new Error(`LOGWAY_FUNCTIONS: ${name}'s module ${modulePath} does not exist`);
    if (functions.some((f) => f.name === name)) throw new Error(`LOGWAY_FUNCTIONS names ${name} twice`);
    functions.push({ name, modulePath });
  }
  return functions;
}

export interface LambdaServerOptions {
  readonly functions: readonly LocalFunction[];
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Per invocation. @default LOGWAY_FUNCTION_TIMEOUT_MS or 30000 */
  readonly timeoutMs?: number;
  /** Concurrent invocations per function before throttling. @default LOGWAY_FUNCTION_CONCURRENCY or 10 */
  readonly concurrency?: number;
}

export interface RunningLambdaServer {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Lambda's synchronous invocation payload limit, request and response. */
const payloadLimitBytes = 6 * 1024 * 1024;

interface Reply {
  readonly ok: boolean;
  readonly payload?: string;
  readonly error?: { errorType: string; errorMessage: string; stackTrace?: string[] };
}

/** tsx's ESM API (its `import` export), so that workers can load TypeScript handler modules. */
function tsxEsmApi(): string {
  const packageJson = createRequire(import.meta.url).resolve('tsx/package.json');
  const exports = JSON.parse(readFileSync(packageJson, 'utf8')).exports as Record<string, { import: { default: string } }>;
  return pathToFileURL(resolve(dirname(packageJson), exports['./esm/api']!.import.default)).href;
}

const tsxApi = tsxEsmApi();
const workerFile = pathToFileURL(resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'lambda-worker.ts')).href;
// Workers load TypeScript through tsx, whatever loader the parent process runs under.
const bootstrap = `const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then((api) => { (api.register ?? api.default.register)(); return import(workerData.workerFile); })
  .catch((error) => { console.error('[logway] local function worker failed to start:', error); process.exit(1); });`;

class Environment {
  readonly worker: Worker;
  private nextId = 0;
  private pending: { id: number; resolve: (reply: Reply) => void } | undefined;

  constructor(
    readonly fn: LocalFunction,
    onExit: () => void,
  ) {
    this.worker = new Worker(bootstrap, { eval: true, workerData: { modulePath: fn.modulePath, tsxApi, workerFile } });
    this.worker.on('message', (message: Reply & { id: number }) => {
      if (this.pending?.id === message.id) {
        const { resolve: done } = this.pending;
        this.pending = undefined;
        done(message);
      }
    });
    const fail = (error: { errorType: string; errorMessage: string }) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.resolve({ ok: false, error });
    };
    this.worker.on('error', (error) => fail({ errorType: error.name || 'Runtime.ExitError', errorMessage: error.message }));
    this.worker.on('exit', (code) => {
      fail({ errorType: 'Runtime.ExitError', errorMessage: `RequestId: the function's process exited (code ${code}) before answering` });
      onExit();
    });
  }

  run(event: unknown, context: Record<string, unknown>): Promise<Reply> {
    const id = ++this.nextId;
    return new Promise((resolvePromise) => {
      this.pending = { id, resolve: resolvePromise };
      this.worker.postMessage({ id, event, context });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

class FunctionPool {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();

  constructor(
    readonly fn: LocalFunction,
    private readonly concurrency: number,
  ) {}

  /** A free environment, a new one within the concurrency, or undefined (throttled). */
  take(): Environment | undefined {
    const warm = this.idle.pop();
    if (warm) return warm;
    if (this.all.size >= this.concurrency) return undefined;
    const environment: Environment = new Environment(this.fn, () => {
      this.all.delete(environment);
      const at = this.idle.indexOf(environment);
      if (at >= 0) this.idle.splice(at, 1);
    });
    this.all.add(environment);
    return environment;
  }

  give(environment: Environment): void {
    if (this.all.has(environment)) this.idle.push(environment);
  }

  async kill(environment: Environment): Promise<void> {
    this.all.delete(environment);
    await environment.terminate();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all].map((e) => e.terminate()));
    this.all.clear();
    this.idle.length = 0;
  }
}

interface HttpReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const awsError = (status: number, type: string, message: string, extra: Record<string, unknown> = {}): HttpReply => ({
  status,
  headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
  body: JSON.stringify({ Type: 'User', message, ...extra }),
});

export async function startLambdaServer(options: LambdaServerOptions): Promise<RunningLambdaServer> {
  const timeoutMs = options.timeoutMs ?? Number(process.env.LOGWAY_FUNCTION_TIMEOUT_MS ?? 30_000);
  const concurrency = options.concurrency ?? Number(process.env.LOGWAY_FUNCTION_CONCURRENCY ?? 10);
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const pools = new Map(options.functions.map((fn) => [fn.name, new FunctionPool(fn, concurrency)]));
  let port = 0;

  const invoke = async (name: string, invocationType: string, body: Buffer): Promise<HttpReply> => {
    const arn = `arn:aws:lambda:${region}:000000000000:function:${name}`;
    const pool = pools.get(name);
    if (!pool) {
      return awsError(
        404,
        'ResourceNotFoundException',
        `Function not found: ${arn} (local functions: ${[...pools.keys()].join(', ') || 'none; set LOGWAY_FUNCTIONS'})`,
      );
    }
    if (body.length > payloadLimitBytes) {
      return awsError(
        413,
        'RequestEntityTooLargeException',
        `${body.length} byte payload is too large for the RequestResponse invocation type (${payloadLimitBytes} byte limit)`,
      );
    }
    let event: unknown = null;
    if (body.length > 0) {
      try {
        event = JSON.parse(body.toString('utf8'));
      } catch {
        return awsError(400, 'InvalidRequestContentException', 'Could not parse request body into json: the payload must be JSON');
      }
    }
    if (invocationType === 'DryRun') return { status: 204, headers: {}, body: '' };
    const environment = pool.take();
    if (!environment) {
      return {
        ...awsError(429, 'TooManyRequestsException', 'Rate Exceeded.', { Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }),
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException', 'retry-after': '1' },
      };
    }
    const requestId = randomUUID();
    const run = async (): Promise<HttpReply> => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((done) => {
        timer = setTimeout(() => done('timeout'), timeoutMs);
      });
      const reply = await Promise.race([
        environment.run(event, {
          awsRequestId: requestId,
          functionName: name,
          invokedFunctionArn: arn,
          deadline: Date.now() + timeoutMs,
          memoryLimitInMB: '128',
        }),
        timedOut,
      ]);
      clearTimeout(timer);
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-amzn-requestid': requestId,
        'x-amz-executed-version': '$LATEST',
      };
      if (reply === 'timeout') {
        await pool.kill(environment);
        const errorMessage = `${new Date().toISOString()} ${requestId} Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
        return {
          status: 200,
          headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
          body: JSON.stringify({ errorType: 'Sandbox.Timedout', errorMessage }),
        };
      }
      pool.give(environment);
      if (!reply.ok)
        return { status: 200, headers: { ...headers, 'x-amz-function-error': 'Unhandled' }, body: JSON.stringify(reply.error) };
      if (Buffer.byteLength(reply.payload!) > payloadLimitBytes) {
        return {
          status: 200,
          headers: { ...headers, 'x-amz-function-error': 'Unhandled' },
          body: JSON.stringify({
            errorType: 'Function.ResponseSizeTooLarge',
            errorMessage: `Response payload size exceeded maximum allowed payload size (${payloadLimitBytes} bytes).`,
          }),
        };
      }
      return { status: 200, headers, body: reply.payload! };
    };
    if (invocationType === 'Event') {
      void run().catch(() => undefined);
      return { status: 202, headers: { 'x-amzn-requestid': requestId }, body: '' };
    }
    return run();
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const send = (reply: HttpReply) => {
      response.writeHead(reply.status, { ...reply.headers, 'content-length': String(Buffer.byteLength(reply.body)) });
      response.end(reply.body);
    };
    const refusal = refuseForeignRequest(request.headers, port);
    if (refusal) {
      request.resume();
      return send({ status: refusal.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(refusalBody(refusal)) });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= payloadLimitBytes + 1) chunks.push(chunk);
    });
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(path);
      if (!match || request.method !== 'POST') {
        return send(
          awsError(
            404,
            'UnknownOperationException',
            `This local Lambda endpoint serves only Invoke (POST /2015-03-31/functions/{name}/invocations), not ${request.method} ${path}`,
          ),
        );
      }
      let name: string;
      try {
        name = functionBaseName(decodeURIComponent(match[1]!));
      } catch {
        return send(awsError(400, 'InvalidParameterValueException', 'The function name is not validly percent-encoded'));
      }
      const type = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      invoke(name, type, size > payloadLimitBytes ? Buffer.alloc(payloadLimitBytes + 1) : Buffer.concat(chunks)).then(
        send,
        (error: unknown) => {
          console.error('[logway] local Lambda endpoint failure:', error);
          send(awsError(500, 'ServiceException', 'The local Lambda endpoint failed'));
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 0;
  port = await listenOnLoopback(server, options.port ?? 0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      const closed = closeServer(server);
      await Promise.all([...pools.values()].map((pool) => pool.stop()));
      await closed;
    },
  };
}
