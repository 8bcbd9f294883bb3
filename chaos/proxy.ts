/**
 * A fault-injecting HTTP proxy between the runtime and DynamoDB Local or s3rver. It answers
 * with the errors AWS's own services send, so the SDK and Logway react as they would on AWS:
 *
 * - latency: hold the request, then forward it;
 * - error: a 5xx before forwarding (DynamoDB InternalServerError, S3 InternalError);
 * - throttle: DynamoDB's 400 ThrottlingException / ProvisionedThroughputExceededException, S3's 503 SlowDown;
 * - ambiguous: forward (the write commits), then answer 500 or reset the connection;
 * - timeout: forward, then hold the answer for seconds (the caller times out) and reset.
 *
 * Control-plane calls (CreateTable, DescribeTable, buckets) are never faulted, so a restarted
 * runtime can always bootstrap. Which request gets which fault is drawn from a seeded PRNG.
 */
import { closeServer } from '../shared/http/loopback';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Prng } from './prng';

export type FaultKind = 'latency' | 'error' | 'throttle' | 'ambiguous' | 'timeout';
export const faultKinds: readonly FaultKind[] = ['latency', 'error', 'throttle', 'ambiguous', 'timeout'];

export interface FaultMode {
  /** Probability that a data-plane request gets a fault. */
  readonly rate: number;
  readonly kinds: readonly FaultKind[];
}

export interface InjectedFault {
  readonly service: 'dynamodb' | 's3';
  readonly kind: FaultKind;
  /** DynamoDB operation (X-Amz-Target) or S3 method and path. */
  readonly target: string;
  readonly detail: string;
}

export interface FaultProxy {
  readonly url: string;
  mode: FaultMode | undefined;
  close(): Promise<void>;
}

const controlPlane = /CreateTable|DescribeTable|UpdateTimeToLive|DescribeTimeToLive|ListTables/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function dynamoError(res: ServerResponse, status: number, type: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'chaos' });
  res.end(JSON.stringify({ __type: type, message }));
}

function s3Error(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>chaos</RequestId></Error>`,
  );
}

export async function startFaultProxy(
  service: 'dynamodb' | 's3',
  target: string,
  prng: Prng,
  onFault: (fault: InjectedFault) => void,
): Promise<FaultProxy> {
  const upstream = new URL(target);
  const state: { mode: FaultMode | undefined } = { mode: undefined };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: upstream.host },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      out.on('error', reject);
      out.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const operation =
      service === 'dynamodb'
        ? String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '')
        : `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const bucketLevel = service === 's3' && (req.url ?? '').split('?')[0]!.split('/').filter(Boolean).length < 2;
    const mode = state.mode;
    let kind: FaultKind | undefined;
    if (mode && !controlPlane.test(operation) && !bucketLevel && prng.chance(mode.rate)) kind = prng.pick(mode.kinds);
    const fault = (detail: string) => onFault({ service, kind: kind!, target: operation, detail });

    if (kind === 'error') {
      fault('500 before forwarding');
      if (service === 'dynamodb')
        return dynamoError(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error (chaos)');
      return s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again. (chaos)');
    }
    if (kind === 'throttle') {
      if (service === 'dynamodb') {
        const provisioned = prng.chance(0.5);
        fault(provisioned ? '400 ProvisionedThroughputExceededException' : '400 ThrottlingException');
        return provisioned
          ? dynamoError(
              res,
              400,
              'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
              'The level of configured provisioned throughput for the table was exceeded (chaos)',
            )
          : dynamoError(
              res,
              400,
              'com.amazon.coral.availability#ThrottlingException',
              'Rate of requests exceeds the allowed throughput (chaos)',
            );
      }
      fault('503 SlowDown');
      return s3Error(res, 503, 'SlowDown', 'Please reduce your request rate. (chaos)');
    }
    if (kind === 'latency') {
      const ms = prng.int(200, 1500);
      fault(`${ms} ms before forwarding`);
      await sleep(ms);
    }
    const answer = await forward(req, body);
    if (kind === 'ambiguous') {
      const reset = prng.chance(0.5);
      fault(
        reset
          ? `forwarded (upstream ${answer.status}), then reset the connection`
          : `forwarded (upstream ${answer.status}), then answered 500`,
      );
      if (reset) {
        req.socket.destroy();
        return;
      }
      if (service === 'dynamodb')
        return dynamoError(res, 500, 'com.amazonaws.dynamodb.v20120810#InternalServerError', 'Internal server error (chaos)');
      return s3Error(res, 500, 'InternalError', 'We encountered an internal error. Please try again. (chaos)');
    }
    if (kind === 'timeout') {
      const ms = prng.int(3000, 6000);
      fault(`forwarded (upstream ${answer.status}), held the answer ${ms} ms, then reset`);
      await sleep(ms);
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((error: unknown) => {
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`chaos proxy: upstream failed: ${(error as Error).message}`);
        } else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: FaultMode | undefined) {
      state.mode = mode;
    },
    close: () => closeServer(server),
  };
}
