/** HTTP helpers for the consumer-group integration tests. */
import { expect } from 'vitest';
import { api, type ApiResponse } from '../support/http';

export type Reply<T = any> = ApiResponse<T>;

export function client(url: string) {
  const { call } = api(url);
  return {
    call,
    async createTopic(name: string, partitions: number) {
      const r = await call('POST', '/v1/topics', { name, partitions });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    },
    async produce(topic: string, partition: number, count: number) {
      const records = Array.from({ length: count }, (_, i) => ({ value: `x${i}`, partition }));
      const r = await call('POST', `/v1/topics/${topic}/records`, { records });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    },
    heartbeat: (group: string, body: unknown) => call('POST', `/v1/groups/${group}/heartbeat`, body),
    commit: (group: string, body: unknown) => call('POST', `/v1/groups/${group}/offsets`, body),
    offsets: (group: string, query = '') => call('GET', `/v1/groups/${group}/offsets${query}`),
    describe: (group: string) => call('GET', `/v1/groups/${group}`),
    list: () => call('GET', '/v1/groups'),
    reset: (group: string, body: unknown) => call('POST', `/v1/groups/${group}/reset-offsets`, body),
    remove: (group: string) => call('DELETE', `/v1/groups/${group}`),
  };
}

export type Client = ReturnType<typeof client>;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
