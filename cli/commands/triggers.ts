/** logway triggers create|list|describe|enable|disable|reset|delete (Lambda event source mappings of a topic). */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { StartingPosition, Trigger, TriggerInput, TriggerResetTarget } from '../../client/src/types';
import { action, clientFor } from '../context';
import { parseInteger, parseTimestamp, table } from '../output';

function parseStartingPosition(value: string): StartingPosition {
  const upper = value.toUpperCase();
  if (upper === 'TRIM_HORIZON' || upper === 'LATEST') return upper;
  try {
    return { timestamp: parseTimestamp(value) };
  } catch {
    throw new InvalidArgumentError(`expected TRIM_HORIZON, LATEST, a timestamp in ms or an ISO 8601 date; got '${value}'`);
  }
}

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** The definition of a trigger as PUT takes it, from what GET returned. */
function inputOf(trigger: Trigger & { partitions?: unknown }): TriggerInput {
  const { name: _name, state: _state, createdAt: _created, lastModified: _modified, partitions: _partitions, ...spec } = trigger;
  return { ...spec, functionResponseTypes: [...spec.functionResponseTypes] };
}

export function triggersCommand(): Command {
  const triggers = new Command('triggers').description(
    "create, list, describe (position and lag), reset and delete triggers: Lambda functions invoked with a topic's records",
  );

  triggers
    .command('create <name>')
    .description('create a trigger, or replace its definition (omitted settings take their defaults)')
    .requiredOption('-t, --topic <topic>', 'the topic whose records the function receives')
    .requiredOption('-f, --function <name-or-arn>', 'the Lambda function to invoke')
    .option(
      '--starting-position <where>',
      'TRIM_HORIZON, LATEST (default) or a time (ms or ISO 8601); on create only',
      parseStartingPosition,
    )
    .option('--batch-size <n>', 'most records per invocation, 1 to 10000 (default 100)', parseInteger('batch-size', 1))
    .option(
      '--batching-window-ms <ms>',
      'gather records this long before invoking with fewer (default 0)',
      parseInteger('batching-window-ms'),
    )
    .option('--max-retries <n>', 'retries of a failed batch, -1 for until success (default)', parseInteger('max-retries', -1))
    .option('--max-record-age-ms <ms>', 'give up on records older than this, -1 for never (default)', parseInteger('max-record-age-ms', -1))
    .option('--bisect', 'split a failing batch in two and retry each half')
    .option('--report-batch-item-failures', 'let the function return the records that failed (batchItemFailures)')
    .option('--on-failure <topic>', 'topic receiving records whose retries or age ran out')
    .addOption(new Option('--disabled', 'create it paused'))
    .option('--json', 'print JSON')
    .action(
      action(
        async (
          name: string,
          options: {
            topic: string;
            function: string;
            startingPosition?: StartingPosition;
            batchSize?: number;
            batchingWindowMs?: number;
            maxRetries?: number;
            maxRecordAgeMs?: number;
            bisect?: boolean;
            reportBatchItemFailures?: boolean;
            onFailure?: string;
            disabled?: boolean;
            json?: boolean;
          },
          command: Command,
        ) => {
          const definition: TriggerInput = {
            topic: options.topic,
            functionName: options.function,
            ...(options.startingPosition !== undefined ? { startingPosition: options.startingPosition } : {}),
            ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
            ...(options.batchingWindowMs !== undefined ? { maximumBatchingWindowMs: options.batchingWindowMs } : {}),
            ...(options.maxRetries !== undefined ? { maximumRetryAttempts: options.maxRetries } : {}),
            ...(options.maxRecordAgeMs !== undefined ? { maximumRecordAgeMs: options.maxRecordAgeMs } : {}),
            ...(options.bisect ? { bisectBatchOnFunctionError: true } : {}),
            ...(options.reportBatchItemFailures ? { functionResponseTypes: ['ReportBatchItemFailures' as const] } : {}),
            ...(options.onFailure ? { onFailure: { topic: options.onFailure } } : {}),
            ...(options.disabled ? { enabled: false } : {}),
          };
          const { created, trigger } = await clientFor(command).admin().putTrigger(name, definition);
          if (options.json) print(trigger);
          else
            process.stdout.write(
              `${created ? 'Created' : 'Replaced'} trigger '${name}': ${trigger.topic} -> ${trigger.functionName} (${trigger.state}).\n`,
            );
        },
      ),
    );

  triggers
    .command('list')
    .description('triggers with their topic, function and state')
    .option('--json', 'print JSON')
    .action(
      action(async (options: { json?: boolean }, command: Command) => {
        const list = await clientFor(command).admin().listTriggers();
        if (options.json) print(list);
        else
          process.stdout.write(
            table(
              ['TRIGGER', 'TOPIC', 'FUNCTION', 'STATE', 'BATCH-SIZE'],
              list.map((t) => [t.name, t.topic, t.functionName, t.state, t.batchSize]),
            ),
          );
      }),
    );

  triggers
    .command('describe <name>')
    .description('the definition, and per partition the position, log end offset, lag and last error')
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, options: { json?: boolean }, command: Command) => {
        const trigger = await clientFor(command).admin().describeTrigger(name);
        if (options.json) {
          print(trigger);
          return;
        }
        process.stdout.write(
          `Trigger '${trigger.name}': ${trigger.topic} -> ${trigger.functionName} (${trigger.state}), batch size ${trigger.batchSize}\n\n`,
        );
        process.stdout.write(
          table(
            ['PARTITION', 'POSITION', 'LOG-END-OFFSET', 'LAG', 'ATTEMPTS', 'LAST-ERROR'],
            trigger.partitions.map((p) => [
              p.partition,
              p.position,
              p.highWatermark,
              p.lag,
              p.attempts,
              p.lastError ? `${p.lastError.code}: ${p.lastError.message}` : '-',
            ]),
          ),
        );
      }),
    );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    triggers
      .command(`${verb} <name>`)
      .description(`${verb} delivery (a disabled trigger keeps its position and can be reset)`)
      .action(
        action(async (name: string, _options: unknown, command: Command) => {
          const admin = clientFor(command).admin();
          const current = await admin.describeTrigger(name);
          await admin.putTrigger(name, { ...inputOf(current), enabled });
          process.stdout.write(`Trigger '${name}' ${enabled ? 'enabled' : 'disabled'}.\n`);
        }),
      );
  }

  triggers
    .command('reset <name>')
    .description("move a disabled trigger's position, e.g. past a record that blocks a partition")
    .option('-p, --partition <n>', 'only this partition', parseInteger('partition'))
    .addOption(new Option('--to-earliest', 'to the log start offset').conflicts(['toLatest', 'toOffset', 'toDatetime']))
    .addOption(new Option('--to-latest', 'to the high watermark').conflicts(['toOffset', 'toDatetime']))
    .addOption(
      new Option('--to-offset <n>', 'to this offset (clamped to the range)').argParser(parseInteger('to-offset')).conflicts('toDatetime'),
    )
    .addOption(new Option('--to-datetime <time>', 'to the first record at or after this time (ms or ISO 8601)').argParser(parseTimestamp))
    .action(
      action(
        async (
          name: string,
          options: { partition?: number; toEarliest?: boolean; toLatest?: boolean; toOffset?: number; toDatetime?: number },
          command: Command,
        ) => {
          let to: TriggerResetTarget;
          if (options.toEarliest) to = 'earliest';
          else if (options.toLatest) to = 'latest';
          else if (options.toOffset !== undefined) to = { offset: options.toOffset };
          else if (options.toDatetime !== undefined) to = { timestamp: options.toDatetime };
          else throw new Error('say where to: --to-earliest, --to-latest, --to-offset <n> or --to-datetime <time>');
          const result = await clientFor(command).admin().resetTrigger(name, to, options.partition);
          process.stdout.write(
            table(
              ['TRIGGER', 'PARTITION', 'NEW-POSITION'],
              result.partitions.map((p) => [name, p.partition, p.position]),
            ),
          );
        },
      ),
    );

  triggers
    .command('delete <name>')
    .description('delete a trigger and its positions')
    .action(
      action(async (name: string, _options: unknown, command: Command) => {
        await clientFor(command).admin().deleteTrigger(name);
        process.stdout.write(`Deleted trigger '${name}'.\n`);
      }),
    );

  return triggers;
}
