/** A bare Kafka protocol client for tests: frames out, frames in, decoded with the schema table. */
import { connect, type Socket } from 'node:net';
import { decodeResponseBody, encodeRequestFrame, type Message, Reader, responseHeaderFlexible } from '../../shared/kafka/codec';
import type { ApiSchema } from '../../shared/kafka/types';

export class RawClient {
  private buffer = Buffer.alloc(0);
  private waiters: ((frame: Buffer) => void)[] = [];
  private frames: Buffer[] = [];
  private correlation = 0;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      while (this.buffer.length >= 4 && this.buffer.length >= 4 + this.buffer.readInt32BE(0)) {
        const size = this.buffer.readInt32BE(0);
        const frame = this.buffer.subarray(4, 4 + size);
        this.buffer = this.buffer.subarray(4 + size);
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  nextFrame(timeoutMs = 10_000): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no response frame')), timeoutMs);
      this.waiters.push((frame) => {
        clearTimeout(timer);
        resolve(frame);
      });
    });
  }

  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request; returns its correlation id. */
  send(schema: ApiSchema, version: number, body: Message): number {
    const id = ++this.correlation;
    this.sendRaw(encodeRequestFrame(schema, version, id, 'raw-test', body));
    return id;
  }

  async receive(schema: ApiSchema, version: number): Promise<{ correlationId: number; body: Message }> {
    const frame = await this.nextFrame();
    const r = new Reader(frame);
    const correlationId = r.int32();
    if (responseHeaderFlexible(schema, version)) r.uvarint();
    return { correlationId, body: decodeResponseBody(schema, version, r) };
  }

  async call(schema: ApiSchema, version: number, body: Message): Promise<Message> {
    const id = this.send(schema, version, body);
    const response = await this.receive(schema, version);
    if (response.correlationId !== id) throw new Error(`correlation id ${response.correlationId}, expected ${id}`);
    return response.body;
  }

  close(): void {
    this.socket.destroy();
  }
}
