/**
 * A fake of Logway's produce API for unit tests of the client: answers GET /v1/topics/{t} and
 * POST /v1/topics/{t}/records (assigning offsets per partition), records every call, and lets a
 * test script failures per call.
 */
export interface RecordedCall {
  at: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  records: { key?: string | null; value?: unknown; partition: number; [k: string]: unknown }[];
}

export type Scripted = { status: number; body?: unknown; headers?: Record<string, string> } | 'network-error' | undefined;

export function fakeService(
  topics: Record<string, number>,
  script: (call: RecordedCall, index: number) => Scripted = () => undefined,
  configs: Record<string, Record<string, number | string>> = {},
) {
  const calls: RecordedCall[] = [];
  const produceCalls: RecordedCall[] = [];
  const heads = new Map<string, number>();
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
    new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const headers: Record<string, string> = {};
    new Headers(init?.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const call: RecordedCall = { at: Date.now(), method: init?.method ?? 'GET', path: url.pathname, headers, body, records: [] };
    calls.push(call);
    const topicMatch = /^\/v1\/topics\/([^/]+)(\/records)?$/.exec(url.pathname);
    if (!topicMatch) return json(404, { message: 'Not Found' });
    const topic = decodeURIComponent(topicMatch[1]!);
    const partitions = topics[topic];
    if (partitions === undefined)
      return json(404, { error: { code: 'UNKNOWN_TOPIC_OR_PARTITION', message: `Topic '${topic}' does not exist.`, topic } });
    if (!topicMatch[2]) {
      return json(200, {
        name: topic,
        topicId: 'id',
        config: configs[topic] ?? {},
        partitions: Array.from({ length: partitions }, (_, p) => ({
          partition: p,
          logStartOffset: 0,
          highWatermark: heads.get(`${topic}:${p}`) ?? 0,
        })),
      });
    }
    call.records = (JSON.parse(body!) as { records: RecordedCall['records'] }).records;
    produceCalls.push(call);
    const scripted = script(call, produceCalls.length - 1);
    if (scripted === 'network-error') throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
    if (scripted) return json(scripted.status, scripted.body, scripted.headers);
    const offsets = call.records.map((r) => {
      const key = `${topic}:${r.partition}`;
      const offset = heads.get(key) ?? 0;
      heads.set(key, offset + 1);
      return { partition: r.partition, offset, timestamp: 1_700_000_000_000 };
    });
    return json(200, { offsets });
  }) as typeof fetch;

  return { fetch: fetchImpl, calls, produceCalls };
}

/** Partitions of a request in order of appearance, and whether each appears as one contiguous run. */
export function partitionRuns(call: RecordedCall): number[] {
  const runs: number[] = [];
  for (const r of call.records) if (runs[runs.length - 1] !== r.partition) runs.push(r.partition);
  return runs;
}
