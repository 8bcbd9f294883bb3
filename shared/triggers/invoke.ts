/**
 * Invoking a trigger's function: `Invoke` (RequestResponse) through @aws-sdk/client-lambda, with
 * the SDK's own endpoint resolution (AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL point it at a
 * local Lambda Invoke API), and the outcome classified the way an event source mapping treats it.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { functionBaseName } from './model';
import type { InvokeOutcome } from './outcome';

export interface Invoker {
  invoke(functionName: string, payload: string, timeoutMs: number): Promise<InvokeOutcome>;
}

let client: LambdaClient | undefined;

/** One client per process; no SDK retries: the dispatcher retries itself, counting what counts. */
function lambda(): LambdaClient {
  client ??= new LambdaClient({ maxAttempts: 1 });
  return client;
}

export function resetLambdaClient(): void {
  client?.destroy();
  client = undefined;
}

/** Errors of the Lambda service that mean "not now": retried without counting as an attempt. */
const throttleCodes = new Set([
  'TooManyRequestsException',
  'ThrottlingException',
  'EC2ThrottledException',
  'ENILimitReachedException',
  'ResourceNotReadyException',
  'ServiceException',
  'SnapStartTimeoutException',
]);

function errorMessageOf(payload: unknown): string | undefined {
  if (payload && typeof payload === 'object' && 'errorMessage' in payload)
    return String((payload as { errorMessage: unknown }).errorMessage);
  return undefined;
}

export function parsePayload(bytes: Uint8Array | undefined): unknown {
  if (!bytes || bytes.length === 0) return undefined;
  const text = Buffer.from(bytes).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export const lambdaInvoker: Invoker = {
  async invoke(functionName, payload, timeoutMs) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      const response = await lambda().send(
        new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(payload) }),
        { abortSignal: abort.signal },
      );
      const body = parsePayload(response.Payload);
      if (response.FunctionError) {
        const message = errorMessageOf(body) ?? (typeof body === 'string' ? body : JSON.stringify(body ?? null));
        const timedOut = /task timed out/i.test(message);
        return {
          kind: 'function-error',
          code: timedOut ? 'FUNCTION_TIMEOUT' : 'FUNCTION_ERROR',
          message: `${functionBaseName(functionName)} ${timedOut ? 'timed out' : 'failed'}: ${message.slice(0, 1000)}`,
        };
      }
      return { kind: 'returned', payload: body };
    } catch (error) {
      if (abort.signal.aborted) {
        return {
          kind: 'function-error',
          code: 'FUNCTION_TIMEOUT',
          message: `${functionBaseName(functionName)} did not answer within ${timeoutMs} ms (LOGWAY_TRIGGER_INVOKE_TIMEOUT_MS)`,
        };
      }
      const name = (error as { name?: string }).name ?? 'Error';
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const message = `Invoking ${functionName}: ${name}: ${(error as Error).message ?? String(error)}`.slice(0, 1000);
      if (throttleCodes.has(name) || status === 429 || (status !== undefined && status >= 500)) {
        return { kind: 'throttled', code: status === 429 || name === 'TooManyRequestsException' ? 'THROTTLED' : name, message };
      }
      const code =
        name === 'AccessDeniedException' || status === 403
          ? 'FUNCTION_NOT_ALLOWED'
          : name === 'ResourceNotFoundException' || status === 404
            ? 'FUNCTION_NOT_FOUND'
            : name === 'RequestTooLargeException' || status === 413
              ? 'PAYLOAD_TOO_LARGE'
              : name;
      return { kind: 'invoke-error', code, message };
    } finally {
      clearTimeout(timer);
    }
  },
};

/**
 * The functions this deployment may invoke (LOGWAY_TRIGGER_ALLOWED_FUNCTIONS: names or ARNs,
 * comma-separated; unset means the endpoint and IAM decide). Checked before every invocation,
 * so a trigger naming another function shows a clear error in its status.
 */
export function isFunctionAllowed(functionName: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const list = env.LOGWAY_TRIGGER_ALLOWED_FUNCTIONS;
  if (list === undefined || list.trim() === '' || list.trim() === '*') return true;
  const wanted = functionBaseName(functionName);
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .some((entry) => entry === functionName || functionBaseName(entry) === wanted);
}
