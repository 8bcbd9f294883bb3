/**
 * One topic's messages: browse by partition and offset, by timestamp, or the latest; search what
 * is loaded; produce a message; live tail (long polls of POST /v1/fetch with waitMs).
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, logway, type TopicDescription } from './api';
import {
  clampOffset,
  type FetchedRecord,
  formatCount,
  formatTimestamp,
  headerValue,
  recordKey,
  latestStart,
  mergeRecords,
  type PartitionRange,
  parseHeaderLines,
  recordMatches,
  recordValue,
} from './format';
import { topicHref } from './router';
import { Bytes, ErrorBanner, PageHeader, Status, useLoad, numeric, TableHead } from './ui';

type Mode = 'latest' | 'earliest' | 'offset' | 'timestamp';

/** The most records kept in the page; a long tail drops the oldest. */
const maxLoaded = 5000;
/** How long one tail request waits on the server for a record (the API caps it at 20 s). */
const tailWaitMs = 10_000;

async function inParallel<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const keep = (records: FetchedRecord[]): FetchedRecord[] =>
  records.length > maxLoaded ? records.slice(records.length - maxLoaded) : records;

export function MessagesPage({ topic, initialPartition }: { topic: string; initialPartition: string | null }) {
  const description = useLoad(() => logway.describeTopic(topic), [topic]);
  const [partition, setPartition] = useState<string>(initialPartition ?? 'all');
  const [mode, setMode] = useState<Mode>('latest');
  const [offset, setOffset] = useState('0');
  const [timestamp, setTimestamp] = useState('');
  const [limit, setLimit] = useState('50');
  const [newestFirst, setNewestFirst] = useState(true);
  const [records, setRecords] = useState<FetchedRecord[]>([]);
  const [positions, setPositions] = useState<Map<number, number> | undefined>(undefined);
  const [ends, setEnds] = useState<Map<number, number>>(new Map());
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [search, setSearch] = useState('');
  const [tailing, setTailing] = useState(false);
  const [tailCount, setTailCount] = useState(0);
  const [tailReady, setTailReady] = useState(false);
  const [fresh, setFresh] = useState<Set<string>>(new Set());
  const tailAbort = useRef<AbortController | undefined>(undefined);
  const positionsRef = useRef<Map<number, number> | undefined>(undefined);
  positionsRef.current = positions;

  useEffect(() => () => tailAbort.current?.abort(), []);
  useEffect(() => setPartition(initialPartition ?? 'all'), [initialPartition]);

  const selected = (d: TopicDescription): PartitionRange[] =>
    partition === 'all' ? d.partitions : d.partitions.filter((p) => String(p.partition) === partition);

  const stopTail = () => {
    tailAbort.current?.abort();
    tailAbort.current = undefined;
    setTailing(false);
  };

  const perPartition = () => {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > 10_000)
      throw new ApiError(0, 'INVALID_INPUT', 'Records per partition must be a whole number from 1 to 10000.');
    return n;
  };

  /** Fetches up to `n` records from each start; returns them and where each partition goes on. */
  const fetchFrom = async (starts: { partition: number; offset: number }[], n: number) => {
    const results = await inParallel(starts, 8, (s) => logway.fetch(topic, s.partition, s.offset, n));
    const next = new Map<number, number>();
    const highs = new Map<number, number>();
    results.forEach((r, i) => {
      next.set(starts[i]!.partition, r.nextOffset);
      highs.set(starts[i]!.partition, r.highWatermark);
    });
    return { records: results.flatMap((r) => r.records), next, highs };
  };

  const load = async (event?: Event) => {
    event?.preventDefault();
    stopTail();
    setBusy(true);
    setError(undefined);
    setFresh(new Set());
    try {
      const n = perPartition();
      const d = await logway.describeTopic(topic);
      const ranges = selected(d);
      if (ranges.length === 0) throw new ApiError(0, 'INVALID_INPUT', `Topic '${topic}' has no partition ${partition}.`);
      let at: number | undefined;
      if (mode === 'timestamp') {
        at = new Date(timestamp).getTime();
        if (!timestamp || Number.isNaN(at)) throw new ApiError(0, 'INVALID_INPUT', 'Give the date and time to start from.');
      }
      if (mode === 'offset' && !/^\d+$/.test(offset.trim())) throw new ApiError(0, 'INVALID_INPUT', 'The offset must be a whole number.');
      const starts = await inParallel(ranges, 8, async (r) => {
        switch (mode) {
          case 'latest':
            return { partition: r.partition, offset: latestStart(r, n) };
          case 'earliest':
            return { partition: r.partition, offset: r.logStartOffset };
          case 'offset':
            // One partition: the offset as typed, so the API says if it is out of range; all: each partition's nearest.
            return { partition: r.partition, offset: ranges.length === 1 ? Number(offset) : clampOffset(r, Number(offset)) };
          case 'timestamp': {
            const found = await logway.offsetAt(topic, r.partition, at!);
            return { partition: r.partition, offset: found.offset ?? r.highWatermark };
          }
        }
      });
      const fetched = await fetchFrom(starts, n);
      setRecords(keep(mergeRecords([], fetched.records)));
      setPositions(fetched.next);
      setEnds(fetched.highs);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const loadMore = async () => {
    if (!positions) return;
    setBusy(true);
    setError(undefined);
    try {
      const starts = [...positions.entries()].filter(([p, o]) => o < (ends.get(p) ?? 0)).map(([p, o]) => ({ partition: p, offset: o }));
      const fetched = await fetchFrom(starts, perPartition());
      setRecords((loaded) => keep(mergeRecords(loaded, fetched.records)));
      setPositions(new Map([...positions, ...fetched.next]));
      setEnds(new Map([...ends, ...fetched.highs]));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const startTail = async () => {
    setError(undefined);
    const abort = new AbortController();
    tailAbort.current?.abort();
    tailAbort.current = abort;
    setTailing(true);
    setTailReady(false);
    setTailCount(0);
    try {
      let at = positionsRef.current;
      const d = await logway.describeTopic(topic);
      const ranges = selected(d);
      // Follow from where the loaded records end, or from the end of each partition.
      const next = new Map(ranges.map((r) => [r.partition, at?.get(r.partition) ?? r.highWatermark]));
      setTailReady(true);
      while (!abort.signal.aborted) {
        const { results } = await logway.fetchMany(
          [...next.entries()].map(([p, o]) => ({ topic, partition: p, offset: o })),
          { maxRecords: 500, waitMs: tailWaitMs },
          abort.signal,
        );
        if (abort.signal.aborted) break;
        const arrived: FetchedRecord[] = [];
        for (const result of results) {
          if (result.error) throw new ApiError(0, result.error.code, `Partition ${result.partition}: ${result.error.message}`);
          arrived.push(...(result.records ?? []));
          if (result.nextOffset !== undefined) next.set(result.partition, result.nextOffset);
        }
        if (arrived.length) {
          setRecords((loaded) => keep(mergeRecords(loaded, arrived)));
          setFresh(new Set(arrived.map((r) => `${r.partition}:${r.offset}`)));
          setTailCount((c) => c + arrived.length);
        }
        at = new Map(next);
        setPositions(at);
        setEnds(new Map(results.map((r) => [r.partition, r.highWatermark ?? 0])));
      }
    } catch (e) {
      if (!abort.signal.aborted) setError(e);
    } finally {
      if (tailAbort.current === abort) {
        tailAbort.current = undefined;
        setTailing(false);
      }
    }
  };

  // Arriving on the page shows the latest records at once.
  const described = description.data !== undefined;
  useEffect(() => {
    if (described) void load();
  }, [described]);

  const shown = useMemo(() => {
    const matching = records.filter((r) => recordMatches(r, search));
    return newestFirst ? matching.reverse() : matching;
  }, [records, search, newestFirst]);

  const remaining = positions ? [...positions.entries()].reduce((n, [p, o]) => n + Math.max(0, (ends.get(p) ?? 0) - o), 0) : 0;
  const d = description.data;

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href="#/topics">Topics</a> / <a href={topicHref(topic)}>{topic}</a> /
      </p>
      <PageHeader title={`${topic}: messages`}>
        <a class="button" href={topicHref(topic)}>
          Partitions and config
        </a>
      </PageHeader>
      <ErrorBanner error={description.error} />
      {d ? (
        <>
          <ProduceForm
            topic={d}
            onProduced={(record) => {
              if (partition === 'all' || String(record.partition) === partition) {
                setRecords((loaded) => keep(mergeRecords(loaded, [record])));
                setFresh(new Set([`${record.partition}:${record.offset}`]));
              }
            }}
          />
          <form class="panel toolbar" onSubmit={load} aria-label="Browse messages">
            <div class="field">
              <label for="browse-partition">Partition</label>
              <select
                id="browse-partition"
                value={partition}
                onChange={(e) => {
                  // A tail follows the partitions it started with: a new choice stops it.
                  stopTail();
                  setPartition(e.currentTarget.value);
                }}
              >
                <option value="all">All partitions</option>
                {d.partitions.map((p) => (
                  <option key={p.partition} value={String(p.partition)}>
                    {p.partition} (offsets {p.logStartOffset}–{p.highWatermark})
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="browse-mode">Start at</label>
              <select id="browse-mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as Mode)}>
                <option value="latest">Latest records</option>
                <option value="earliest">Earliest offset</option>
                <option value="offset">Offset</option>
                <option value="timestamp">Timestamp</option>
              </select>
            </div>
            {mode === 'offset' ? (
              <div class="field">
                <label for="browse-offset">Offset</label>
                <input
                  id="browse-offset"
                  type="number"
                  min={0}
                  value={offset}
                  onInput={(e) => setOffset(e.currentTarget.value)}
                  class="narrow"
                />
              </div>
            ) : null}
            {mode === 'timestamp' ? (
              <div class="field">
                <label for="browse-timestamp">From (local time)</label>
                <input
                  id="browse-timestamp"
                  type="datetime-local"
                  step={1}
                  value={timestamp}
                  onInput={(e) => setTimestamp(e.currentTarget.value)}
                />
              </div>
            ) : null}
            <div class="field">
              <label for="browse-limit">Records per partition</label>
              <input
                id="browse-limit"
                type="number"
                min={1}
                max={10000}
                value={limit}
                onInput={(e) => setLimit(e.currentTarget.value)}
                class="narrow"
              />
            </div>
            <div class="field">
              <label for="browse-order">Order</label>
              <select
                id="browse-order"
                value={newestFirst ? 'newest' : 'oldest'}
                onChange={(e) => setNewestFirst(e.currentTarget.value === 'newest')}
              >
                <option value="newest">Newest first</option>
                <option value="oldest">Oldest first</option>
              </select>
            </div>
            <div class="field buttons">
              <button type="submit" class="primary" disabled={busy}>
                {busy ? 'Loading…' : 'Load messages'}
              </button>
              {tailing ? (
                <button type="button" class="tailing" onClick={stopTail}>
                  Stop live tail
                </button>
              ) : (
                <button type="button" onClick={() => void startTail()}>
                  Start live tail
                </button>
              )}
            </div>
          </form>
        </>
      ) : null}
      <ErrorBanner error={error} onDismiss={() => setError(undefined)} />
      <div class="results-bar">
        <div class="field search">
          <label for="search">Search loaded messages</label>
          <input
            id="search"
            type="search"
            value={search}
            onInput={(e) => setSearch(e.currentTarget.value)}
            placeholder="key, value, header or offset"
          />
        </div>
        <Status>
          {search
            ? `${formatCount(shown.length)} of ${formatCount(records.length)} loaded messages match`
            : `${formatCount(records.length)} messages loaded`}
          {tailing
            ? ` · live tail ${!tailReady ? 'starting…' : tailCount ? `on, ${formatCount(tailCount)} new` : 'on, waiting for new records'}`
            : ''}
        </Status>
        {positions && !tailing ? (
          <button type="button" onClick={() => void loadMore()} disabled={busy || remaining === 0}>
            {remaining ? `Load more (${formatCount(remaining)} newer)` : 'No newer records'}
          </button>
        ) : null}
      </div>
      {shown.length ? (
        <table class="data messages" aria-label="Messages">
          <TableHead columns={[numeric('Partition'), numeric('Offset'), 'Timestamp', 'Key', 'Value', 'Headers']} />
          <tbody>
            {shown.map((r) => (
              <tr key={`${r.partition}:${r.offset}`} class={fresh.has(`${r.partition}:${r.offset}`) ? 'fresh' : undefined}>
                <td class="num">{r.partition}</td>
                <td class="num">{r.offset}</td>
                <td class="nowrap" title={String(r.timestamp)}>
                  {formatTimestamp(r.timestamp)}
                </td>
                <td class="key">
                  <Bytes bytes={recordKey(r)} />
                </td>
                <td class="value">
                  <Bytes bytes={recordValue(r)} block />
                </td>
                <td class="headers">
                  {r.headers?.length ? (
                    <dl>
                      {r.headers.map((h, i) => (
                        <div key={i}>
                          <dt>{h.key}</dt>
                          <dd>
                            <Bytes bytes={headerValue(h)} />
                          </dd>
                        </div>
                      ))}
                    </dl>
                  ) : (
                    <span class="muted">none</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : records.length && search ? (
        <p class="empty">No loaded message matches “{search}”.</p>
      ) : positions && !busy ? (
        <p class="empty">No messages from there. Produce one, or start the live tail to watch for new ones.</p>
      ) : null}
    </section>
  );
}

function ProduceForm({ topic, onProduced }: { topic: TopicDescription; onProduced: (record: FetchedRecord) => void }) {
  const [open, setOpen] = useState(false);
  const [partition, setPartition] = useState('');
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const [binary, setBinary] = useState(false);
  const [headers, setHeaders] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setError(undefined);
    setDone('');
    const parsed = parseHeaderLines(headers);
    if ('error' in parsed) {
      setError(new ApiError(0, 'INVALID_INPUT', parsed.error));
      return;
    }
    setBusy(true);
    try {
      const { offsets } = await logway.produce(topic.name, [
        {
          ...(key ? { key } : {}),
          ...(binary ? { valueBase64: value.replace(/\s+/g, '') } : { value }),
          ...(parsed.headers.length ? { headers: parsed.headers } : {}),
          ...(partition ? { partition: Number(partition) } : {}),
        },
      ]);
      const at = offsets[0]!;
      setDone(`Produced to partition ${at.partition} at offset ${at.offset}.`);
      const fetched = await logway.fetch(topic.name, at.partition, at.offset, 1);
      if (fetched.records[0]) onProduced(fetched.records[0]);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="panel produce">
      <button type="button" class="disclosure" onClick={() => setOpen(!open)} aria-expanded={open} aria-controls="produce-form">
        {open ? '▾' : '▸'} Produce a message
      </button>
      {open ? (
        <form id="produce-form" onSubmit={submit} aria-label="Produce a message">
          <div class="row">
            <div class="field">
              <label for="produce-partition">Partition</label>
              <select id="produce-partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
                <option value="">By key (murmur2), or one random for no key</option>
                {topic.partitions.map((p) => (
                  <option key={p.partition} value={String(p.partition)}>
                    {p.partition}
                  </option>
                ))}
              </select>
            </div>
            <div class="field grow">
              <label for="produce-key">Key (empty: no key)</label>
              <input id="produce-key" value={key} onInput={(e) => setKey(e.currentTarget.value)} autoComplete="off" spellcheck={false} />
            </div>
          </div>
          <div class="row">
            <div class="field grow">
              <label for="produce-value">{binary ? 'Value (base64 of the bytes)' : 'Value (stored as its UTF-8 text)'}</label>
              <textarea id="produce-value" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} />
              <label class="inline">
                <input type="checkbox" checked={binary} onChange={(e) => setBinary(e.currentTarget.checked)} /> Value is base64 (binary
                bytes)
              </label>
            </div>
            <div class="field grow">
              <label for="produce-headers">Headers (one per line: name: value)</label>
              <textarea
                id="produce-headers"
                rows={4}
                value={headers}
                onInput={(e) => setHeaders(e.currentTarget.value)}
                spellcheck={false}
              />
            </div>
          </div>
          <ErrorBanner error={error} />
          <div class="form-actions">
            <Status>{done}</Status>
            <button type="submit" class="primary" disabled={busy}>
              {busy ? 'Producing…' : 'Produce'}
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
