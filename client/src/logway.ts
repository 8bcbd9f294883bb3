/**
 * The entry point, as KafkaJS's `new Kafka(...)`: one connection configuration shared by the
 * producers, consumers and admin clients it creates.
 */
import { Admin } from './admin';
import { Consumer, type ConsumerOptions } from './consumer';
import { HttpTransport, type ConnectionOptions } from './http';
import { Producer, type ProducerOptions } from './producer';
import { toMessage, type Message } from './records';
import type { WireFetchResult } from './types';

export type LogwayOptions = ConnectionOptions;

export interface FetchRequest {
  partitions: { topic: string; partition: number; offset: number }[];
  /** Long-poll: return as soon as any partition has data, or empty after waitMs (capped at 20000 by the service). */
  waitMs?: number;
  maxBytes?: number;
  maxRecords?: number;
  signal?: AbortSignal;
}

export type FetchResult =
  | { topic: string; partition: number; messages: Message[]; nextOffset: number; highWatermark: number; logStartOffset: number }
  | { topic: string; partition: number; error: { code: string; message: string; [detail: string]: unknown } };

export class Logway {
  readonly http: HttpTransport;

  constructor(options: LogwayOptions = {}) {
    this.http = new HttpTransport(options);
  }

  /** The service's base URL. */
  get url(): string {
    return this.http.url.href.replace(/\/$/, '');
  }

  producer(options?: ProducerOptions): Producer {
    return new Producer(this.http, options);
  }

  consumer(options: ConsumerOptions): Consumer {
    return new Consumer(this.http, options);
  }

  admin(): Admin {
    return new Admin(this.http);
  }

  /** GET /v1/health. */
  async health(): Promise<{ status: string; service: string; version: string }> {
    return (await this.http.request<{ status: string; service: string; version: string }>({ method: 'GET', path: '/v1/health' })).body;
  }

  /** One POST /v1/fetch: read partitions from given offsets without a group (what `logway consume` without -g does). */
  async fetch(request: FetchRequest): Promise<FetchResult[]> {
    const response = await this.http.request<{ results: WireFetchResult[] }>({
      method: 'POST',
      path: '/v1/fetch',
      body: {
        partitions: request.partitions,
        ...(request.waitMs !== undefined ? { waitMs: request.waitMs } : {}),
        ...(request.maxBytes !== undefined ? { maxBytes: request.maxBytes } : {}),
        ...(request.maxRecords !== undefined ? { maxRecords: request.maxRecords } : {}),
      },
      ...(request.signal ? { signal: request.signal } : {}),
      timeoutMs: (request.waitMs ?? 0) + 30_000,
    });
    return response.body.results.map((result) =>
      'error' in result
        ? result
        : {
            topic: result.topic,
            partition: result.partition,
            messages: result.records.map(toMessage),
            nextOffset: result.nextOffset,
            highWatermark: result.highWatermark,
            logStartOffset: result.logStartOffset,
          },
    );
  }
}
