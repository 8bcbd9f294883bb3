/**
 * Test support for triggers: a Lambda Invoke API endpoint of the test's own (a real HTTP server
 * the dispatcher reaches through @aws-sdk/client-lambda, as the black-box judge's would be),
 * which records every invocation and answers as the test scripts it; and helpers to wait.
 */
import { closeServer } from '../../shared/http/loopback';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KafkaSelfManagedEventSchema } from '@aws-lambda-powertools/parser/schemas/kafka';
import { resetLambdaClient } from '../../shared/triggers/invoke';
import type { SelfManagedKafkaEvent } from '../../shared/triggers/events';

export interface Invocation {
  readonly functionName: string;
  readonly event: SelfManagedKafkaEvent;
  readonly bytes: number;
  readonly startedAt: number;
  endedAt?: number;
}

export type Answer =
  | { kind: 'ok'; payload?: unknown; delayMs?: number }
  | { kind: 'error'; message: string; delayMs?: number }
  | { kind: 'throttle' }
  | { kind: 'status'; status: number; type: string };

export interface InvokeEndpoint {
  readonly url: string;
  readonly invocations: Invocation[];
  /** Decides each answer; the default returns null at once. */
  answer: (invocation: Invocation) => Answer | Promise<Answer>;
  /** Records delivered per topic-partition, in delivery order, from successful and failed invocations alike. */
  offsets(topicPartition: string, functionName?: string): number[];
  /** The most invocations of one partition in flight at once. */
  maxInFlight(topicPartition: string): number;
  stop(): Promise<void>;
}

export async function startInvokeEndpoint(): Promise<InvokeEndpoint> {
  const invocations: Invocation[] = [];
  const endpoint: InvokeEndpoint = {
    url: '',
    invocations,
    answer: () => ({ kind: 'ok', payload: null }),
    offsets(topicPartition, functionName) {
      return invocations
        .filter((i) => functionName === undefined || i.functionName === functionName)
        .flatMap((i) => (i.event.records[topicPartition] ?? []).map((r) => r.offset));
    },
    maxInFlight(topicPartition) {
      const spans = invocations
        .filter((i) => i.event.records[topicPartition])
        .map((i) => [i.startedAt, i.endedAt ?? Number.POSITIVE_INFINITY] as const);
      let most = 0;
      for (const [start] of spans) most = Math.max(most, spans.filter(([s, e]) => s <= start && start < e).length);
      return most;
    },
    stop: async () => undefined,
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', async () => {
      const body = Buffer.concat(chunks);
      const name = decodeURIComponent(/functions\/([^/]+)\/invocations/.exec(request.url ?? '')?.[1] ?? '');
      const invocation: Invocation = {
        functionName: name,
        event: JSON.parse(body.toString('utf8')),
        bytes: body.length,
        startedAt: Date.now(),
      };
      invocations.push(invocation);
      const answer = await endpoint.answer(invocation);
      if ('delayMs' in answer && answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
      invocation.endedAt = Date.now();
      if (answer.kind === 'throttle') {
        response.writeHead(429, { 'content-type': 'application/json', 'x-amzn-errortype': 'TooManyRequestsException' });
        response.end(
          JSON.stringify({ Type: 'User', message: 'Rate Exceeded.', Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' }),
        );
      } else if (answer.kind === 'status') {
        response.writeHead(answer.status, { 'content-type': 'application/json', 'x-amzn-errortype': answer.type });
        response.end(JSON.stringify({ Type: 'User', message: answer.type }));
      } else if (answer.kind === 'error') {
        response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
        response.end(JSON.stringify({ errorType: 'Error', errorMessage: answer.message }));
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(answer.payload ?? null));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.AWS_ENDPOINT_URL_LAMBDA = url;
  resetLambdaClient();
  return Object.assign(endpoint, {
    url,
    stop: () => closeServer(server),
  });
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Parses an event as a Lambda handler for a self-managed Kafka source would (throws when it does not fit). */
export function parseWithPowertools(event: unknown) {
  return KafkaSelfManagedEventSchema.parse(event);
}
