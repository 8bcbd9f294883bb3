/** logway topics create|list|describe|alter|delete (kafka-topics). */
import { Command } from 'commander';
import type { TopicConfig } from '../../client/src/types';
import { action, clientFor } from '../context';
import { collectPair, parseInteger, table } from '../output';

const configOf = (pairs: [string, string][] | undefined): TopicConfig | undefined =>
  pairs && pairs.length > 0 ? Object.fromEntries(pairs) : undefined;

export function topicsCommand(): Command {
  const topics = new Command('topics').description('create, list, describe, alter and delete topics');

  topics
    .command('create <topic>')
    .description('create a topic')
    .option('-p, --partitions <n>', 'number of partitions', parseInteger('partitions', 1), 1)
    .option('-c, --config <key=value>', 'topic config, e.g. retention.ms=86400000 (repeatable)', collectPair)
    .action(
      action(async (name: string, options: { partitions: number; config?: [string, string][] }, command: Command) => {
        const config = configOf(options.config);
        await clientFor(command)
          .admin()
          .createTopic({ topic: name, numPartitions: options.partitions, ...(config ? { config } : {}) });
        process.stdout.write(`Created topic ${name} with ${options.partitions} partition${options.partitions === 1 ? '' : 's'}.\n`);
      }),
    );

  topics
    .command('list')
    .description('list topic names (with --long: and partition counts)')
    .option('-l, --long', 'a table with partition counts')
    .option('--json', 'print JSON')
    .action(
      action(async (options: { long?: boolean; json?: boolean }, command: Command) => {
        const list = await clientFor(command).admin().listTopics();
        if (options.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else if (options.long)
          process.stdout.write(
            table(
              ['TOPIC', 'PARTITIONS'],
              list.map((t) => [t.name, t.partitions]),
            ),
          );
        else process.stdout.write(list.map((t) => `${t.name}\n`).join(''));
      }),
    );

  topics
    .command('describe <topic>')
    .description("a topic's config and each partition's log start offset and high watermark")
    .option('--json', 'print JSON')
    .action(
      action(async (name: string, options: { json?: boolean }, command: Command) => {
        const topic = await clientFor(command).admin().describeTopic(name);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(topic, null, 2)}\n`);
          return;
        }
        const configs = Object.entries(topic.config)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        let out = `Topic: ${topic.name}\tTopicId: ${topic.topicId}\tPartitionCount: ${topic.partitions.length}\tConfigs: ${configs}\n`;
        for (const p of topic.partitions) {
          out += `\tTopic: ${topic.name}\tPartition: ${p.partition}\tLogStartOffset: ${p.logStartOffset}\tHighWatermark: ${p.highWatermark}\n`;
        }
        process.stdout.write(out);
      }),
    );

  topics
    .command('alter <topic>')
    .description('grow partitions and/or change config')
    .option('-p, --partitions <n>', 'new (larger) number of partitions', parseInteger('partitions', 1))
    .option('-c, --config <key=value>', 'topic config to set (repeatable)', collectPair)
    .action(
      action(async (name: string, options: { partitions?: number; config?: [string, string][] }, command: Command) => {
        const config = configOf(options.config);
        if (options.partitions === undefined && !config) throw new Error('nothing to alter: give --partitions and/or --config');
        const topic = await clientFor(command)
          .admin()
          .alterTopic(name, {
            ...(options.partitions !== undefined ? { partitions: options.partitions } : {}),
            ...(config ? { config } : {}),
          });
        process.stdout.write(`Altered topic ${name}: ${topic.partitions.length} partitions.\n`);
      }),
    );

  topics
    .command('delete <topic>')
    .description('delete a topic (its name is reusable at once)')
    .action(
      action(async (name: string, _options: unknown, command: Command) => {
        await clientFor(command).admin().deleteTopic(name);
        process.stdout.write(`Deleted topic ${name}.\n`);
      }),
    );

  return topics;
}
