/**
 * The Kafka protocol listener: a node:net server that frames requests (int32 size, header,
 * body), answers each connection's requests one at a time and in order (as a Kafka broker does,
 * so pipelined requests keep their order and their effects' order), and dispatches each to its
 * handler. It holds no state of its own: every handler calls the same core as the HTTP API.
 *
 * Bad input never costs the connection when the frame can still be answered: an unknown API or
 * version, or a body that does not decode, gets a response carrying Kafka's error code. Only a
 * frame whose size or header cannot be read closes the connection (there is no correlation id
 * to answer with), as Kafka does.
 *
 * With `sasl` set, a connection must authenticate first (SaslHandshake, SaslAuthenticate with
 * SCRAM: shared/kafka/sasl.ts) and every request is then authorized against its user's
 * permissions in the handlers (shared/kafka/authorization.ts). Without it, as by default
 * locally, every request is allowed.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { runAsFunction } from '../runtime/aws';
import { flushMetrics } from '../runtime/metrics';
import { sleep } from '../runtime/retry';
import { log as logService } from '../log/service';
import { accessOf, openAccess } from './authorization';
import { decodeRequestBody, decodeRequestHeader, encodeResponseFrame, isFlexible, type Message, Reader, type RequestHeader } from './codec';
import { kafkaErrorCodes, toKafkaError } from './errors';
import { handlers, type Broker, type RequestContext } from './handlers';
import { SaslSession, type SaslOptions } from './sasl';
import { apis, apiVersions, saslAuthenticate, saslHandshake, servedVersions, unservedApiNames } from './schema';
import type { ApiSchema, Field } from './types';

/**
 * Whose role the handlers' AWS calls run under: the gateway's task role (infra/constructs/kafka-gateway.ts).
 * The local IAM check (test/support/iam-check.ts) evaluates them against that role's synthesized policy.
 */
export const kafkaGatewayFunction = 'kafka-gateway';

/** Kafka's socket.request.max.bytes default. */
export const maxFrameBytes = 100 * 1024 * 1024;

export interface KafkaServerOptions {
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** 0: a free port. */
  readonly port: number;
  /** The address put in Metadata and FindCoordinator (a load balancer's, behind one). @default the listening address */
  readonly advertisedHost?: string;
  readonly advertisedPort?: number;
  readonly log?: (message: string, details?: Record<string, unknown>) => void;
  /** Require SASL/SCRAM authentication and authorize every request. @default none: every request is allowed */
  readonly sasl?: SaslOptions;
  /**
   * Chunk writes to one partition in flight at once, across all connections (the group commit):
   * Produce batches that arrive meanwhile wait in arrival order and go out together in the next
   * write (docs/kafka.md, "Many producers on one partition"). 0: none, each batch writes alone.
   * @default produceAppendsPerPartition (1)
   */
  readonly appendsPerPartition?: number;
}

/**
 * The default of `appendsPerPartition`: one write at a time, as a broker appends to a partition's
 * log, so that the writes never contend (measured against 2 and 4 in docs/performance.md, "The
 * Kafka gateway's group commit").
 */
export const produceAppendsPerPartition = 1;

export interface RunningKafkaServer {
  readonly host: string;
  readonly port: number;
  /** Whether connections must authenticate. */
  readonly sasl: boolean;
  stop(): Promise<void>;
}

export async function startKafkaServer(options: KafkaServerOptions): Promise<RunningKafkaServer> {
  const host = options.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const appendsPerPartition = options.appendsPerPartition ?? produceAppendsPerPartition;
  const broker: Broker = {
    nodeId: 0,
    host: options.advertisedHost ?? host,
    port: options.advertisedPort ?? 0,
    clusterId: 'logway',
    ...(appendsPerPartition > 0 ? { appendGroupCommit: logService.appendGroupCommit(appendsPerPartition) } : {}),
  };
  const log = options.log ?? ((message, details) => console.warn(`kafka: ${message}`, details ?? ''));
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, broker, log, options.sasl ? new SaslSession(options.sasl, log) : undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  if (options.advertisedPort === undefined) (broker as { port: number }).port = port;
  return {
    host,
    port,
    sasl: options.sasl !== undefined,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Frames read ahead of the one being answered before the socket is paused (a client's in-flight limit is usually 5). */
const maxQueuedFrames = 64;

function serveConnection(socket: Socket, broker: Broker, log: NonNullable<KafkaServerOptions['log']>, sasl: SaslSession | undefined): void {
  socket.setNoDelay(true);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const frames: Buffer[] = [];
  let busy = false;
  let closed = false;
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', () => socket.destroy());

  const drain = async () => {
    if (busy) return;
    busy = true;
    try {
      for (let frame = frames.shift(); frame && !closed; frame = frames.shift()) {
        if (frames.length < maxQueuedFrames / 2 && socket.isPaused()) socket.resume();
        const response = sasl?.raw ? await rawSaslToken(sasl, frame) : await answer(frame, broker, socket.remoteAddress ?? '', log, sasl);
        if (response === 'close') {
          socket.destroy();
          return;
        }
        if (Buffer.isBuffer(response)) {
          if (!closed) socket.write(response);
        } else if (response && !closed) {
          // The last answer on this connection (a failed authentication): sent, then closed.
          socket.end(response.last);
          return;
        }
      }
    } finally {
      busy = false;
    }
  };

  /** The first `n` pending bytes as one buffer (joining chunks only once a whole frame is there). */
  const head = (n: number): Buffer => {
    if (pending[0]!.length < n) pending = [Buffer.concat(pending, pendingBytes)];
    return pending[0]!;
  };

  socket.on('data', (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    while (pendingBytes >= 4) {
      const size = head(4).readInt32BE(0);
      if (size < 8 || size > maxFrameBytes) {
        log('closing a connection that sent an impossible frame size', { size, remote: socket.remoteAddress });
        socket.destroy();
        return;
      }
      if (pendingBytes < 4 + size) break;
      const joined = head(4 + size);
      frames.push(joined.subarray(4, 4 + size));
      const rest = joined.subarray(4 + size);
      pending = rest.length > 0 ? [rest, ...pending.slice(1)] : pending.slice(1);
      pendingBytes -= 4 + size;
    }
    if (frames.length >= maxQueuedFrames) socket.pause();
    void drain();
  });
}

const flexibleOf = (apiKey: number, apiVersion: number): boolean => {
  const schema = apis.get(apiKey);
  return schema !== undefined && apiVersion >= schema.versions.min && apiVersion <= schema.versions.max && isFlexible(schema, apiVersion);
};

/**
 * What a request frame gets: a response frame; undefined when none is due (Produce with acks=0);
 * 'close' when it cannot be answered; `last` for a response after which the connection closes.
 */
export type Answer = Buffer | undefined | 'close' | { readonly last: Buffer };

/** A bare SASL token after a SaslHandshake v0: answered with a bare token, or the connection closes (Kafka's v0 behaviour). */
async function rawSaslToken(sasl: SaslSession, frame: Buffer): Promise<Answer> {
  const result = await sasl.token(frame);
  if (!result.ok) {
    await sleep(sasl.failureDelayMs);
    return 'close';
  }
  const out = Buffer.alloc(4 + result.bytes.length);
  out.writeInt32BE(result.bytes.length, 0);
  result.bytes.copy(out, 4);
  return out;
}

const saslApiKeys = new Set([apiVersions.key, saslHandshake.key, saslAuthenticate.key]);

export async function answer(
  frame: Buffer,
  broker: Broker,
  clientHost: string,
  log: NonNullable<KafkaServerOptions['log']>,
  sasl?: SaslSession,
): Promise<Answer> {
  const reader = new Reader(frame);
  let header: RequestHeader;
  try {
    header = decodeRequestHeader(reader, flexibleOf);
  } catch (error) {
    log('closing a connection whose request header does not decode', { error: (error as Error).message });
    return 'close';
  }
  if (sasl && !sasl.authenticated && !saslApiKeys.has(header.apiKey)) {
    // As a Kafka broker's SASL listener: nothing but ApiVersions and SASL before authentication.
    log('closing a connection that sent a request before authenticating', { apiKey: header.apiKey, clientId: header.clientId });
    return 'close';
  }
  const schema = apis.get(header.apiKey);
  if (!schema) {
    const name = unservedApiNames[header.apiKey] ?? `API key ${header.apiKey}`;
    log(`${name} is not served`, { clientId: header.clientId });
    // No schema to answer with: a body that is just UNSUPPORTED_VERSION (as ApiVersions v0's error starts).
    const out = Buffer.alloc(10);
    out.writeInt32BE(6, 0);
    out.writeInt32BE(header.correlationId, 4);
    out.writeInt16BE(kafkaErrorCodes.UNSUPPORTED_VERSION, 8);
    return out;
  }
  const { min, max } = schema.versions;
  if (header.apiVersion < min || header.apiVersion > max) {
    if (schema === apiVersions) {
      // KIP-511: answer with v0 and the versions served, so the client retries with one of them.
      return encodeResponseFrame(apiVersions, 0, header.correlationId, {
        errorCode: kafkaErrorCodes.UNSUPPORTED_VERSION,
        apiKeys: servedVersions(),
      });
    }
    const version = header.apiVersion < min ? min : max;
    return encodeResponseFrame(schema, version, header.correlationId, errorBody(schema, version, kafkaErrorCodes.UNSUPPORTED_VERSION));
  }
  const version = header.apiVersion;
  let request: Message;
  try {
    request = decodeRequestBody(schema, version, reader);
  } catch (error) {
    log(`${schema.name} v${version} request does not decode`, { error: (error as Error).message, clientId: header.clientId });
    return encodeResponseFrame(schema, version, header.correlationId, errorBody(schema, version, kafkaErrorCodes.INVALID_REQUEST));
  }
  if (schema === saslHandshake) {
    if (!sasl) return encodeResponseFrame(schema, version, header.correlationId, notSasl(schema));
    const { body, close } = sasl.handshake(request.mechanism as string, version);
    const response = encodeResponseFrame(schema, version, header.correlationId, body);
    return close ? { last: response } : response;
  }
  if (schema === saslAuthenticate) {
    if (!sasl) return encodeResponseFrame(schema, version, header.correlationId, notSasl(schema));
    const result = await sasl.token(request.authBytes as Buffer);
    if (result.ok) {
      return encodeResponseFrame(schema, version, header.correlationId, {
        errorCode: 0,
        errorMessage: null,
        authBytes: result.bytes,
        sessionLifetimeMs: 0,
      });
    }
    const response = encodeResponseFrame(schema, version, header.correlationId, {
      errorCode: result.illegalState ? kafkaErrorCodes.ILLEGAL_SASL_STATE : kafkaErrorCodes.SASL_AUTHENTICATION_FAILED,
      errorMessage: result.message,
      authBytes: Buffer.alloc(0),
      sessionLifetimeMs: 0,
    });
    // An authenticated connection stays (Kafka answers ILLEGAL_SASL_STATE); any other failure closes it after the delay.
    if (sasl.authenticated) return response;
    await sleep(sasl.failureDelayMs);
    return { last: response };
  }
  let body: Message | undefined;
  try {
    // Before authentication only ApiVersions gets here, which needs no grant.
    const access = !sasl ? openAccess : accessOf(sasl.principal ? await sasl.principal.permissions() : undefined);
    const context: RequestContext = { version, clientId: header.clientId ?? '', clientHost, broker, access };
    const handler = handlers[schema.key]!;
    body = await runAsFunction(kafkaGatewayFunction, () => handler(request, context));
  } catch (error) {
    const { code, message, unexpected } = toKafkaError(error);
    if (unexpected) log(`${schema.name} v${version} failed`, { error: message, stack: (error as Error)?.stack });
    body = errorBody(schema, version, code);
  }
  // As a Lambda handler does at the end of an invocation: what this request recorded goes out now.
  flushMetrics();
  if (body === undefined) return undefined;
  return encodeResponseFrame(schema, version, header.correlationId, body);
}

/** SaslHandshake or SaslAuthenticate on a listener without SASL: Kafka's PLAINTEXT listener answers ILLEGAL_SASL_STATE. */
function notSasl(schema: ApiSchema): Message {
  if (schema === saslHandshake) return { errorCode: kafkaErrorCodes.ILLEGAL_SASL_STATE, mechanisms: [] };
  return {
    errorCode: kafkaErrorCodes.ILLEGAL_SASL_STATE,
    errorMessage: 'This listener does not use SASL: connect without sasl settings.',
    authBytes: Buffer.alloc(0),
    sessionLifetimeMs: 0,
  };
}

/** A response with `code` in every top-level error field and nothing else: for requests no handler could answer. */
export function errorBody(schema: ApiSchema, version: number, code: number): Message {
  const body: Message = {};
  const hasField = (fields: readonly Field[], name: string) =>
    fields.some((field) => field.name === name && version >= field.versions.min && version <= field.versions.max);
  if (hasField(schema.response, 'errorCode')) body.errorCode = code;
  if (schema === apiVersions) body.apiKeys = servedVersions();
  return body;
}
