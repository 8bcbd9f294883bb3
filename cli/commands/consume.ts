/**
 * logway consume <topic>: print records like kafka-console-consumer (the value, one per line),
 * or in a kcat-style --format, or as JSON lines. Without -g it reads partitions directly from an
 * offset; with -g it joins the consumer group, commits as it goes and leaves when done.
 */
import { Command, Option } from 'commander';
import { LogwayApiError, partitionResultError, serviceRefusal } from '../../client/src/errors';
import type { Logway } from '../../client/src/logway';
import type { Message } from '../../client/src/records';
import { action, clientFor } from '../context';
import { compileFormat, jsonLine, parseInteger, parseTimestamp, writeOut } from '../output';

interface ConsumeOptions {
  group?: string;
  fromBeginning?: boolean;
  offset?: number;
  timestamp?: number;
  partition?: number[];
  count?: number;
  exitAtEnd?: boolean;
  timeoutMs?: number;
  format?: string;
  json?: boolean;
  sessionTimeoutMs: number;
  quiet?: boolean;
}

export function consumeCommand(): Command {
  return new Command('consume')
    .description('print records of a topic (the value of each, one per line, by default)')
    .argument('<topic>')
    .option('-g, --group <group>', 'consume as a member of this consumer group (commits offsets)')
    .addOption(
      new Option('--from-beginning', 'start at the earliest offset (with -g: when the group has no committed offset)').conflicts([
        'offset',
        'timestamp',
      ]),
    )
    .addOption(
      new Option('-o, --offset <n>', 'start at this offset in each partition (negative: that many before the end)')
        .argParser(parseInteger('offset', Number.MIN_SAFE_INTEGER))
        .conflicts(['timestamp', 'group']),
    )
    .addOption(
      new Option('--timestamp <ms|ISO date>', 'start at the first record at or after this time')
        .argParser(parseTimestamp)
        .conflicts(['group']),
    )
    .option('-p, --partition <n>', 'only this partition (repeatable; not with -g)', (v: string, prev: number[] = []) => [
      ...prev,
      parseInteger('partition')(v),
    ])
    .option('-c, --count <n>', 'exit after this many records', parseInteger('count', 1))
    .option('-e, --exit-at-end', 'exit once every partition is read to its end (not with -g)')
    .option('--timeout-ms <ms>', 'exit when no record arrived for this long', parseInteger('timeout-ms', 1))
    .addOption(new Option('-f, --format <format>', "kcat-style format: %t %p %o %T %k %v %h, e.g. '%k %v'").conflicts('json'))
    .option('--json', 'one JSON object per record: {topic, partition, offset, timestamp, key, value, headers}')
    .option('--session-timeout-ms <ms>', 'session timeout of the group member (with -g)', parseInteger('session-timeout-ms', 1000), 10_000)
    .option('-q, --quiet', 'no "Processed a total of N messages" line on stderr')
    .action(
      action(async (topic: string, options: ConsumeOptions, command: Command) => {
        if (options.group && (options.partition || options.exitAtEnd)) {
          throw new Error('--partition and --exit-at-end read without a group; drop -g or them');
        }
        const logway = clientFor(command);
        // Fail fast (UNKNOWN_TOPIC_OR_PARTITION) instead of waiting for an assignment that never comes.
        const description = await logway.admin().describeTopic(topic);
        const render = options.json
          ? (m: Message) => jsonLine(topic, m)
          : (
              (format) => (m: Message) =>
                format(topic, m)
            )(compileFormat(options.format ?? '%v'));
        const printer = new Printer(render, options.count, options.timeoutMs);
        const stop = () => printer.finish();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          if (options.group) await consumeWithGroup(logway, topic, options, printer);
          else await consumeDirect(logway, topic, description.partitions, options, printer);
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          printer.close();
        }
        if (!options.quiet) process.stderr.write(`Processed a total of ${printer.printed} messages\n`);
      }),
    );
}

/** Prints records, counts them, and says when to stop (count reached, idle timeout, or a signal). */
class Printer {
  printed = 0;
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;
  private done = false;
  private idle: NodeJS.Timeout | undefined;
  private readonly hooks: (() => void)[] = [];

  constructor(
    private readonly render: (m: Message) => Buffer,
    private readonly count: number | undefined,
    private readonly timeoutMs: number | undefined,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.armIdle();
  }

  get isDone(): boolean {
    return this.done;
  }

  async print(message: Message): Promise<void> {
    if (this.done) return;
    this.printed++;
    await writeOut(this.render(message));
    this.armIdle();
    if (this.count !== undefined && this.printed >= this.count) this.finish();
  }

  /** Runs `hook` synchronously when printing finishes (so nothing more is delivered after it). */
  onFinish(hook: () => void): void {
    if (this.done) hook();
    else this.hooks.push(hook);
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.idle) clearTimeout(this.idle);
    for (const hook of this.hooks.splice(0)) hook();
    this.resolveFinished();
  }

  close(): void {
    this.finish();
  }

  private armIdle(): void {
    if (this.timeoutMs === undefined) return;
    if (this.idle) clearTimeout(this.idle);
    this.idle = setTimeout(() => this.finish(), this.timeoutMs);
  }
}

async function consumeDirect(
  logway: Logway,
  topic: string,
  partitions: { partition: number; logStartOffset: number; highWatermark: number }[],
  options: ConsumeOptions,
  printer: Printer,
): Promise<void> {
  const chosen = options.partition ?? partitions.map((p) => p.partition);
  const admin = logway.admin();
  const positions = new Map<number, number>();
  for (const partition of chosen) {
    const bounds = partitions.find((p) => p.partition === partition);
    if (!bounds)
      throw serviceRefusal(
        'UNKNOWN_TOPIC_OR_PARTITION',
        `Topic '${topic}' has no partition ${partition}: it has partitions 0 to ${partitions.length - 1}.`,
      );
    let offset: number;
    if (options.fromBeginning) offset = bounds.logStartOffset;
    else if (options.offset !== undefined)
      offset = options.offset >= 0 ? options.offset : Math.max(bounds.logStartOffset, bounds.highWatermark + options.offset);
    else if (options.timestamp !== undefined)
      offset = (await admin.offsetFor({ topic, partition, at: options.timestamp })) ?? bounds.highWatermark;
    else offset = bounds.highWatermark;
    positions.set(partition, offset);
  }
  const atEnd = new Set<number>();
  const controller = new AbortController();
  printer.onFinish(() => controller.abort());
  while (!printer.isDone) {
    let results: Awaited<ReturnType<typeof logway.fetch>>;
    try {
      results = await logway.fetch({
        partitions: [...positions].map(([partition, offset]) => ({ topic, partition, offset })),
        waitMs: options.exitAtEnd ? 0 : 5000,
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) return;
      throw error;
    }
    for (const result of results) {
      if ('error' in result) throw partitionResultError(result.error);
      for (const message of result.messages) {
        if (printer.isDone) return;
        await printer.print(message);
      }
      positions.set(result.partition, result.nextOffset);
      if (result.nextOffset >= result.highWatermark) atEnd.add(result.partition);
      else atEnd.delete(result.partition);
    }
    if (options.exitAtEnd && atEnd.size === positions.size) return;
  }
}

async function consumeWithGroup(logway: Logway, topic: string, options: ConsumeOptions, printer: Printer): Promise<void> {
  const consumer = logway.consumer({
    groupId: options.group!,
    sessionTimeoutMs: options.sessionTimeoutMs,
    autoOffsetReset: options.fromBeginning ? 'earliest' : 'latest',
  });
  consumer.on('error', ({ error, context }) => {
    const text =
      error instanceof LogwayApiError ? `[${error.code}] ${error.message}` : error instanceof Error ? error.message : String(error);
    process.stderr.write(`Warning: ${context}: ${text}\n`);
  });
  await consumer.subscribe({ topics: [topic] });
  // Stop delivering the moment printing is done: the last record printed is the last one committed.
  printer.onFinish(() => void consumer.disconnect());
  await consumer.run({ eachMessage: ({ message }) => printer.print(message) });
  await printer.finished;
  await consumer.disconnect();
}
