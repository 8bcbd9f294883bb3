/** logway groups list|describe|reset-offsets|delete (kafka-consumer-groups). */
import { Command, Option } from 'commander';
import type { ResetTarget } from '../../client/src/types';
import { action, clientFor } from '../context';
import { parseInteger, parseTimestamp, table } from '../output';

const assignmentText = (assignment: Record<string, number[]>) =>
  Object.entries(assignment)
    .filter(([, partitions]) => partitions.length > 0)
    .map(([topic, partitions]) => `${topic}(${partitions.join(',')})`)
    .join(' ') || '-';

export function groupsCommand(): Command {
  const groups = new Command('groups').description('list, describe (with lag), reset offsets of and delete consumer groups');

  groups
    .command('list')
    .description('consumer groups with their state and member count')
    .option('--json', 'print JSON')
    .action(
      action(async (options: { json?: boolean }, command: Command) => {
        const list = await clientFor(command).admin().listGroups();
        if (options.json) process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
        else
          process.stdout.write(
            table(
              ['GROUP', 'STATE', 'MEMBERS'],
              list.map((g) => [g.groupId, g.state, g.memberCount]),
            ),
          );
      }),
    );

  groups
    .command('describe <group>')
    .description('per partition: committed offset, log end offset, lag and owning member (kafka-consumer-groups --describe)')
    .option('--members', 'the members and their assignments instead')
    .option('--state', "the group's state, epoch and member count instead")
    .option('--json', 'print the full description as JSON')
    .action(
      action(async (groupId: string, options: { members?: boolean; state?: boolean; json?: boolean }, command: Command) => {
        const group = await clientFor(command).admin().describeGroup(groupId);
        if (options.json) {
          process.stdout.write(`${JSON.stringify(group, null, 2)}\n`);
          return;
        }
        if (options.state) {
          process.stdout.write(
            table(
              ['GROUP', 'STATE', 'GROUP-EPOCH', 'ASSIGNMENT-EPOCH', '#MEMBERS'],
              [[group.groupId, group.state, group.groupEpoch, group.assignmentEpoch, group.members.length]],
            ),
          );
          return;
        }
        if (options.members) {
          process.stdout.write(
            table(
              ['GROUP', 'CONSUMER-ID', 'EPOCH', '#PARTITIONS', 'ASSIGNMENT', 'PENDING-REVOCATION'],
              group.members.map((m) => [
                group.groupId,
                m.memberId,
                m.memberEpoch,
                Object.values(m.assignment).reduce((n, list) => n + list.length, 0),
                assignmentText(m.assignment),
                assignmentText(m.pendingRevocation),
              ]),
            ),
          );
          return;
        }
        if (group.members.length === 0) process.stdout.write(`Consumer group '${group.groupId}' has no active members.\n\n`);
        process.stdout.write(
          table(
            ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID'],
            group.partitions.map((p) => [group.groupId, p.topic, p.partition, p.committedOffset, p.highWatermark, p.lag, p.memberId]),
          ),
        );
      }),
    );

  groups
    .command('reset-offsets <group>')
    .description("reset an empty group's offsets of a topic (every partition); applied at once")
    .requiredOption('-t, --topic <topic>', 'the topic')
    .addOption(new Option('--to-earliest', 'to the log start offset').conflicts(['toLatest', 'toOffset', 'toDatetime', 'toTimestamp']))
    .addOption(new Option('--to-latest', 'to the high watermark').conflicts(['toOffset', 'toDatetime', 'toTimestamp']))
    .addOption(
      new Option('--to-offset <n>', 'to this offset (clamped to each partition’s range)')
        .argParser(parseInteger('to-offset'))
        .conflicts(['toDatetime', 'toTimestamp']),
    )
    .addOption(
      new Option('--to-datetime <ISO date>', 'to the first record at or after this time')
        .argParser(parseTimestamp)
        .conflicts('toTimestamp'),
    )
    .addOption(new Option('--to-timestamp <ms>', 'to the first record at or after this time').argParser(parseTimestamp))
    .action(
      action(
        async (
          groupId: string,
          options: {
            topic: string;
            toEarliest?: boolean;
            toLatest?: boolean;
            toOffset?: number;
            toDatetime?: number;
            toTimestamp?: number;
          },
          command: Command,
        ) => {
          let to: ResetTarget;
          if (options.toEarliest) to = 'earliest';
          else if (options.toLatest) to = 'latest';
          else if (options.toOffset !== undefined) to = { offset: options.toOffset };
          else if (options.toDatetime !== undefined) to = { timestamp: options.toDatetime };
          else if (options.toTimestamp !== undefined) to = { timestamp: options.toTimestamp };
          else
            throw new Error('say where to: --to-earliest, --to-latest, --to-offset <n>, --to-datetime <ISO date> or --to-timestamp <ms>');
          const result = await clientFor(command).admin().resetOffsets({ groupId, topic: options.topic, to });
          process.stdout.write(
            table(
              ['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'],
              result.offsets.map((o) => [groupId, result.topic, o.partition, o.offset]),
            ),
          );
        },
      ),
    );

  groups
    .command('delete <group>')
    .description('delete an empty group and its committed offsets')
    .action(
      action(async (groupId: string, _options: unknown, command: Command) => {
        await clientFor(command).admin().deleteGroup(groupId);
        process.stdout.write(`Deleted consumer group '${groupId}'.\n`);
      }),
    );

  return groups;
}
