/**
 * A bare Kafka protocol client for the chaos workload's fetchers, on the repo's own codec
 * (shared/kafka/codec.ts and its schema table): one connection, one request at a time, every
 * wait bounded, and a dropped connection (a SIGKILLed runtime) failing the call at once.
 */
import { connect, type Socket } from 'node:net';
import { decodeResponseBody, encodeRequestFrame, type Message, Reader, responseHeaderFlexible } from '../shared/kafka/codec';
import type { ApiSchema } from '../shared/kafka/types';

export class KafkaConnection {
  private buffer = Buffer.alloc(0);
  private waiter: { resolve: (frame: Buffer) => void; reject: (error: Error) => void } | undefined;
  private correlation = 0;
  private failure: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4 && this.buffer.length >= 4 + this.buffer.readInt32BE(0)) {
        const size = this.buffer.readInt32BE(0);
        const frame = this.buffer.subarray(4, 4 + size);
        this.buffer = this.buffer.subarray(4 + size);
        const waiter = this.waiter;
        this.waiter = undefined;
        waiter?.resolve(frame);
      }
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.reject(this.failure);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  static open(host: string, port: number, timeoutMs = 2000): Promise<KafkaConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new KafkaConnection(socket));
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  /** One request and its response, within `timeoutMs` (then the connection is closed: its state is unknown). */
  call(schema: ApiSchema, version: number, body: Message, timeoutMs = 4000): Promise<Message> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('one request at a time'));
    const id = ++this.correlation;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        this.close();
        reject(Object.assign(new Error('timeout'), { code: 'timeout' }));
      }, timeoutMs);
      this.waiter = {
        resolve: (frame) => {
          clearTimeout(timer);
          try {
            const reader = new Reader(frame);
            const correlationId = reader.int32();
            if (correlationId !== id) throw new Error(`correlation id ${correlationId}, expected ${id}`);
            if (responseHeaderFlexible(schema, version)) reader.uvarint();
            resolve(decodeResponseBody(schema, version, reader));
          } catch (error) {
            this.close();
            reject(error as Error);
          }
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.socket.write(encodeRequestFrame(schema, version, id, 'logway-chaos', body));
    });
  }

  close(): void {
    this.failure ??= new Error('closed');
    this.socket.destroy();
  }
}
