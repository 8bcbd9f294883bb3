/**
 * The harness's side of the trigger function (chaos/trigger-function.ts): a loopback HTTP server
 * that turns each invocation into an operation of the history, `trigger-invoke`, invoked when the
 * function starts and completed ok (it returned) or fail (it threw, as told) when it ends. An
 * invocation cut off by a SIGKILL of the runtime, or by the function timeout, never completes
 * (info); the checker bounds it by the kill and the timeout.
 */
import { closeServer } from '../shared/http/loopback';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TriggerInvokeResult, TriggerInvokeValue } from './checker/model';
import type { HistoryRecorder } from './history';
import type { Prng } from './prng';

export interface TriggerRecorder {
  readonly url: string;
  /** Invocations started in the last `withinMs` and not yet ended. */
  inFlight(withinMs?: number): number;
  /** Stop injecting function errors (the final quiet period). */
  calm(): void;
  close(): Promise<void>;
}

export async function startTriggerRecorder(
  recorder: HistoryRecorder,
  nextProcess: () => number,
  prng: Prng,
  failRate: number,
): Promise<TriggerRecorder> {
  /** Open invocations: their process and when they started (one cut off by a kill never ends). */
  const open = new Map<number, { process: number; at: number }>();
  let rate = failRate;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        let answer: unknown;
        if (request.url === '/start') {
          const process = nextProcess();
          const fail = prng.chance(rate);
          // Some invocations take a while, so that SIGKILLs and faults land mid-invocation too.
          const delayMs = prng.chance(0.2) ? prng.int(50, 600) : 0;
          const value: TriggerInvokeValue = { ...(body as Omit<TriggerInvokeValue, 'injectedFailure'>), injectedFailure: fail };
          const op = recorder.invoke(process, 'trigger-invoke', value);
          open.set(op, { process, at: Date.now() });
          answer = { op, fail, delayMs };
        } else if (request.url === '/end') {
          const { op, outcome, ended } = body as { op: number; outcome: 'ok' | 'error'; ended: number };
          const process = open.get(op)?.process;
          if (process === undefined) throw new Error(`operation ${op} is not an open invocation`);
          open.delete(op);
          const result: TriggerInvokeResult = { ended };
          recorder.complete(
            op,
            process,
            'trigger-invoke',
            outcome === 'ok' ? 'ok' : 'fail',
            result,
            outcome === 'ok' ? undefined : 'function error',
          );
          answer = { op };
        } else {
          response.writeHead(404).end();
          return;
        }
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      } catch (error) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end(String((error as Error).message));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight: (withinMs = 10_000) => [...open.values()].filter((o) => o.at > Date.now() - withinMs).length,
    calm: () => {
      rate = 0;
    },
    close: () => closeServer(server),
  };
}
