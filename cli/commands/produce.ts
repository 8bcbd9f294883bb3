/**
 * logway produce <topic>: one record per line of stdin or a file (kcat -P). `-K:` splits each line
 * at the first ':' into key and value; `--json` reads JSON lines {key, value, headers, partition,
 * timestamp}. Records go through the batching Producer, so a big file becomes few requests.
 */
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Command } from 'commander';
import type { ProducerMessage } from '../../client/src/records';
import { action, clientFor } from '../context';
import { collectPair, parseInteger } from '../output';

interface ProduceOptions {
  file?: string;
  keyDelimiter?: string;
  json?: boolean;
  partition?: number;
  header?: [string, string][];
  lingerMs: number;
  quiet?: boolean;
}

/** Messages per send() call, and how many calls may be waiting for acknowledgement at once. */
const chunkSize = 500;
const maxOutstanding = 16;

export function produceCommand(): Command {
  return new Command('produce')
    .description('produce one record per line of stdin (or --file)')
    .argument('<topic>')
    .option('-f, --file <path>', 'read lines from this file instead of stdin')
    .option('-K, --key-delimiter <sep>', 'split each line at the first <sep> into key and value (kcat -K)')
    .option('--json', 'each line is JSON: {"key", "value", "headers", "partition", "timestamp"}')
    .option('-p, --partition <n>', 'send every record to this partition', parseInteger('partition'))
    .option('-H, --header <key=value>', 'add this header to every record (repeatable)', collectPair)
    .option('--linger-ms <ms>', 'how long records wait to share a request', parseInteger('linger-ms'), 5)
    .option('-q, --quiet', 'print no summary')
    .action(
      action(async (topic: string, options: ProduceOptions, command: Command) => {
        const logway = clientFor(command);
        const producer = logway.producer({ lingerMs: options.lingerMs });
        const input = options.file ? createReadStream(options.file) : process.stdin;
        const progress = options.file && process.stderr.isTTY ? progressBar(options.file, input) : undefined;
        const lines = createInterface({ input, crlfDelay: Infinity });
        const parse = lineParser(options);

        let chunk: ProducerMessage[] = [];
        let produced = 0;
        let failure: unknown;
        const partitions = new Set<number>();
        const outstanding = new Set<Promise<void>>();
        const flushChunk = () => {
          const messages = chunk;
          chunk = [];
          const sent: Promise<void> = producer.send({ topic, messages }).then(
            (metadata) => {
              produced += metadata.length;
              for (const m of metadata) partitions.add(m.partition);
              progress?.records(produced);
            },
            (error: unknown) => {
              failure ??= error;
            },
          );
          outstanding.add(sent);
          void sent.finally(() => outstanding.delete(sent));
        };

        let lineNumber = 0;
        try {
          for await (const line of lines) {
            lineNumber++;
            if (failure) break;
            if (line.trim() === '') continue;
            chunk.push(parse(line, lineNumber));
            if (chunk.length >= chunkSize) {
              flushChunk();
              while (outstanding.size >= maxOutstanding) await Promise.race(outstanding);
            }
          }
          if (chunk.length > 0 && !failure) flushChunk();
          await Promise.all(outstanding);
          await producer.close();
        } finally {
          lines.close();
          progress?.done();
        }
        if (failure) throw failure;
        if (!options.quiet) {
          const list = [...partitions].sort((a, b) => a - b).join(', ');
          process.stderr.write(
            `Produced ${produced} record${produced === 1 ? '' : 's'} to ${topic}${produced ? ` (partition${partitions.size === 1 ? '' : 's'} ${list})` : ''}.\n`,
          );
        }
      }),
    );
}

function lineParser(options: ProduceOptions): (line: string, lineNumber: number) => ProducerMessage {
  const headers = options.header && options.header.length > 0 ? options.header.map(([key, value]) => ({ key, value })) : undefined;
  const common = (message: ProducerMessage): ProducerMessage => {
    if (options.partition !== undefined && message.partition === undefined) message.partition = options.partition;
    if (headers) {
      const own = Array.isArray(message.headers) ? message.headers : message.headers ? toList(message.headers) : [];
      message.headers = [...headers, ...own];
    }
    return message;
  };
  if (options.json) {
    return (line, lineNumber) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        throw new Error(`line ${lineNumber} is not JSON: ${(error as Error).message}`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error(`line ${lineNumber}: expected a JSON object {"key", "value", ...}`);
      const { key, value, headers: h, partition, timestamp } = parsed as Record<string, unknown>;
      if (key !== undefined && key !== null && typeof key !== 'string') throw new Error(`line ${lineNumber}: key must be a string or null`);
      return common({
        key: (key as string | null | undefined) ?? null,
        value: value ?? null,
        ...(h !== undefined ? { headers: h as ProducerMessage['headers'] } : {}),
        ...(partition !== undefined ? { partition: partition as number } : {}),
        ...(timestamp !== undefined ? { timestamp: timestamp as number } : {}),
      });
    };
  }
  const delimiter = options.keyDelimiter;
  if (delimiter !== undefined && delimiter !== '') {
    return (line) => {
      const i = line.indexOf(delimiter);
      return common(i < 0 ? { key: null, value: line } : { key: line.slice(0, i), value: line.slice(i + delimiter.length) });
    };
  }
  return (line) => common({ value: line });
}

function toList(headers: Record<string, unknown>): { key: string; value: string | null }[] {
  return Object.entries(headers).flatMap(([key, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ key, value: v === null || v === undefined ? null : String(v) })),
  );
}

/** A one-line progress bar on stderr (only when stderr is a terminal). */
function progressBar(file: string, input: NodeJS.ReadableStream): { records(n: number): void; done(): void } {
  const total = statSync(file).size;
  let read = 0;
  let records = 0;
  let last = 0;
  input.on('data', (chunk: Buffer | string) => {
    read += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
  });
  const draw = (force = false) => {
    const now = Date.now();
    if (!force && now - last < 100) return;
    last = now;
    const width = 30;
    const fraction = total > 0 ? Math.min(1, read / total) : 1;
    const filled = Math.round(fraction * width);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%  ${records} records acknowledged`,
    );
  };
  const timer = setInterval(() => draw(), 100);
  return {
    records(n) {
      records = n;
      draw();
    },
    done() {
      clearInterval(timer);
      draw(true);
      process.stderr.write('\n');
    },
  };
}
