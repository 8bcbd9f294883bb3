/**
 * The local Lambda Invoke API, through the real @aws-sdk/client-lambda: handler modules in warm
 * worker threads, errors and timeouts as Lambda reports them, throttling at the concurrency, the
 * Host/Origin guard; and `npm start`'s wiring: a Powertools kafkaConsumer handler named in
 * LOGWAY_FUNCTIONS receives a trigger's records unchanged.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalLambda, startLocalTriggers, type LocalLambda, type RunningLocalTriggers } from '../../infra/local/lambda-dispatcher';
import { parseFunctionList, startLambdaServer, type RunningLambdaServer } from '../../infra/local/lambda-server';
import { useTestService } from '../support/local-service';
import { eventually } from './support';

const fixtures = join(import.meta.dirname, 'fixtures');
const credentials = { accessKeyId: 'x', secretAccessKey: 'y' };

describe('the local Lambda Invoke API', () => {
  let server: RunningLambdaServer;
  let client: LambdaClient;
  beforeAll(async () => {
    server = await startLambdaServer({
      functions: parseFunctionList(`echo=${join(fixtures, 'echo.ts')},fail=${join(fixtures, 'fail.ts')},loop=${join(fixtures, 'loop.ts')}`),
      timeoutMs: 1_500,
      concurrency: 2,
    });
    client = new LambdaClient({ endpoint: server.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });

  const invoke = async (name: string, payload: unknown) => {
    const response = await client.send(new InvokeCommand({ FunctionName: name, Payload: Buffer.from(JSON.stringify(payload)) }));
    return { ...response, body: JSON.parse(Buffer.from(response.Payload ?? []).toString('utf8') || 'null') };
  };

  it('runs a handler module and returns its result; names and ARNs both reach it', async () => {
    const response = await invoke('echo', { hello: 'world' });
    expect(response.StatusCode).toBe(200);
    expect(response.FunctionError).toBeUndefined();
    expect(response.body).toEqual({ echo: { hello: 'world' }, functionName: 'echo', remainingOk: true });
    expect((await invoke('arn:aws:lambda:us-east-1:000000000000:function:echo', { a: 1 })).body.echo).toEqual({ a: 1 });
  });

  it('reports a thrown error as an Unhandled function error', async () => {
    const response = await invoke('fail', {});
    expect(response.FunctionError).toBe('Unhandled');
    expect(response.body).toMatchObject({ errorType: 'TypeError', errorMessage: 'nope' });
  });

  it('times out a looping handler, terminates it, and keeps serving', async () => {
    const started = Date.now();
    const response = await invoke('loop', {});
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(response.FunctionError).toBe('Unhandled');
    expect(response.body.errorMessage).toMatch(/Task timed out after 1\.50 seconds/);
    expect((await invoke('echo', { after: 'loop' })).body.echo).toEqual({ after: 'loop' });
    expect((await invoke('loop', {})).body.errorMessage).toMatch(/timed out/);
  });

  it('throttles beyond the concurrency with TooManyRequestsException', async () => {
    const results = await Promise.allSettled([0, 1, 2].map(() => invoke('echo', { delayMs: 500 })));
    const rejected = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    expect(rejected).toHaveLength(1);
    expect(rejected[0]!.reason.name).toBe('TooManyRequestsException');
  });

  it('answers an unknown function with ResourceNotFoundException', async () => {
    await expect(invoke('nope', {})).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refuses a foreign Host or Origin', async () => {
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.url}/2015-03-31/functions/echo/invocations`, { method: 'POST', headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
    expect(await status({ host: 'evil.example:80' })).toBe(403);
    expect(await status({ origin: 'https://evil.example' })).toBe(403);
    expect(await status({})).toBe(200);
  });

  it('refuses a LOGWAY_FUNCTIONS entry it cannot serve, saying why', () => {
    expect(() => parseFunctionList('noequals')).toThrow(/name=path/);
    expect(() => parseFunctionList('fn=/no/such/module.ts')).toThrow(/does not exist/);
  });
});

describe('npm start wiring: LOGWAY_FUNCTIONS and a trigger', () => {
  const { http } = useTestService();
  let lambda: LocalLambda;
  let triggers: RunningLocalTriggers;
  const out = join(mkdtempSync(join(tmpdir(), 'logway-trigger-')), 'records.jsonl');
  beforeAll(async () => {
    process.env.TRIGGER_TEST_OUT = out;
    lambda = await startLocalLambda({ LOGWAY_FUNCTIONS: `consumer=${join(fixtures, 'kafka-consumer.ts')}` } as NodeJS.ProcessEnv);
    process.env.AWS_ENDPOINT_URL_LAMBDA = lambda.endpoint;
    triggers = startLocalTriggers({ dispatch: { invokeTimeoutMs: 10_000, leaseMarginMs: 1_000 } });
  });
  afterAll(async () => {
    await triggers?.stop();
    await lambda?.stop();
    delete process.env.AWS_ENDPOINT_URL_LAMBDA;
  });

  it('delivers records to a Powertools kafkaConsumer handler, which decodes them unchanged', async () => {
    expect(lambda.server).toBeDefined();
    await http.post('/v1/topics', { name: 'events', partitions: 2 });
    expect((await http.call('PUT', '/v1/triggers/to-consumer', { topic: 'events', functionName: 'consumer' })).status).toBe(201);
    await http.post('/v1/topics/events/records', {
      records: Array.from({ length: 6 }, (_, n) => ({ key: `user-${n % 3}`, value: { n } })),
    });
    const lines = await eventually(
      () => {
        if (!existsSync(out)) return undefined;
        const read = readFileSync(out, 'utf8').trim().split('\n').filter(Boolean);
        return read.length >= 6 ? read.map((l) => JSON.parse(l)) : undefined;
      },
      20_000,
      'six records in the handler',
    );
    expect(lines.map((l: { value: { n: number } }) => l.value.n).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(lines[0]).toMatchObject({ topic: 'events', key: expect.stringMatching(/^user-/) });
  });
});
