/**
 * `npm run example`: a consumer group at work, end to end.
 *
 * A shop writes purchase events, keyed by user id, to the topic `user-events` (3 partitions).
 * The group `analytics` runs 3 consumers, one partition each. Midway one consumer stops; the
 * group hands its partition to another consumer, which carries on from the committed offset,
 * and not one event is lost.
 *
 * It starts Logway in this process (DynamoDB Local + S3 emulator + local gateway, on a free port,
 * data in a temp folder) unless LOGWAY_URL names a running one, and stops everything it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isLogwayApiError, Logway, type Consumer } from '../client/src';

const topic = 'user-events';
const groupId = 'analytics';
const users = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'];
const items = ['book', 'lamp', 'mug', 'pen', 'desk', 'tea'];

const started = Date.now();
const clock = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const say = (text: string) => console.log(`${clock()}  ${text}`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long a consumer's fetch waits for records on the service (its long poll). */
const longPollMs = 500;

async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

async function main(): Promise<void> {
  let stopRuntime: (() => Promise<void>) | undefined;
  let url = process.env.LOGWAY_URL;
  if (!url) {
    const dataDir = mkdtempSync(join(tmpdir(), 'logway-example-'));
    say('Starting Logway locally (DynamoDB Local, S3 emulator, gateway)...');
    const { startLocalRuntime } = await import('../infra/local/runtime');
    const runtime = await startLocalRuntime({ port: 0, dataDir, resourcePrefix: 'logway-example' });
    url = runtime.url;
    stopRuntime = async () => {
      await runtime.stop();
      rmSync(dataDir, { recursive: true, force: true });
    };
  }
  say(`Logway is at ${url}`);

  const logway = new Logway({ url });
  const admin = logway.admin();
  const producer = logway.producer({ lingerMs: 10 });
  const consumers: Consumer[] = [];
  try {
    // A clean slate, also when LOGWAY_URL points at a service that ran this before.
    await admin.deleteGroup(groupId).catch((e: unknown) => {
      if (!(isLogwayApiError(e) && e.code === 'GROUP_ID_NOT_FOUND')) throw e;
    });
    await admin.deleteTopic(topic).catch((e: unknown) => {
      if (!(isLogwayApiError(e) && e.code === 'UNKNOWN_TOPIC_OR_PARTITION')) throw e;
    });
    await admin.createTopic({ topic, numPartitions: 3 });
    say(`Created topic '${topic}' with 3 partitions.`);

    // ---- the group: 3 consumers ----
    const processed = new Map<string, string[]>(); // event id -> consumers that processed it
    const names = ['consumer-1', 'consumer-2', 'consumer-3'];
    for (const name of names) {
      const consumer = logway.consumer({ groupId, sessionTimeoutMs: 3000, heartbeatIntervalMs: 250, maxWaitTimeInMs: longPollMs });
      consumer.on('partitions.assigned', ({ partitions }) =>
        say(`${name}: assigned ${partitions.map((p) => `${p.topic}-${p.partition} (from offset ${p.offset})`).join(', ')}`),
      );
      consumer.on('partitions.revoked', ({ partitions }) =>
        say(`${name}: released ${partitions.map((p) => `${p.topic}-${p.partition}`).join(', ')} to the group`),
      );
      consumer.on('error', ({ error, context }) => say(`${name}: ${context} failed: ${String(error)}`));
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommitInterval: 500,
        eachMessage: async ({ partition, message }) => {
          const event = JSON.parse(message.value!.toString()) as { id: string; user: string; item: string; amount: number };
          processed.set(event.id, [...(processed.get(event.id) ?? []), name]);
          say(
            `${name}:   ${event.id} ${event.user.padEnd(5)} bought a ${event.item.padEnd(4)} for $${event.amount}  (partition ${partition}, offset ${message.offset})`,
          );
        },
      });
      consumers.push(consumer);
      say(`${name} joined group '${groupId}'.`);
    }
    await waitFor('one partition per consumer', () => consumers.every((c) => c.assignment().length === 1));
    say('The group is balanced: each consumer owns one partition.');

    // ---- the shop sells ----
    let sequence = 0;
    const sent: string[] = [];
    const sell = async (count: number) => {
      const messages = Array.from({ length: count }, () => {
        const n = sequence++;
        const user = users[n % users.length]!;
        const event = {
          id: `purchase-${String(n + 1).padStart(2, '0')}`,
          user,
          item: items[(n * 7) % items.length]!,
          amount: 5 + ((n * 13) % 40),
        };
        sent.push(event.id);
        return { key: user, value: event, headers: { source: 'shop' } };
      });
      const metadata = await producer.send({ topic, messages });
      const byPartition = new Map<number, Set<string>>();
      metadata.forEach((m, i) => {
        byPartition.set(m.partition, (byPartition.get(m.partition) ?? new Set()).add(messages[i]!.key));
      });
      say(
        `producer: ${count} purchases acknowledged; keys by partition: ${[...byPartition]
          .sort(([a], [b]) => a - b)
          .map(([p, keys]) => `${p}=[${[...keys].join(',')}]`)
          .join(' ')}`,
      );
    };
    await sell(12);
    await waitFor('the first purchases to be processed', () => sent.every((id) => processed.has(id)));

    // ---- one consumer stops ----
    const leaving = consumers[2]!;
    const [moved] = leaving.assignment();
    say(`consumer-3 stops. It owns ${topic}-${moved!.partition}: it finishes the message in hand, commits, and leaves the group.`);
    await leaving.disconnect();
    const committed = (await admin.fetchOffsets({ groupId, topics: [topic] })).find((o) => o.partition === moved!.partition);
    say(`consumer-3 has left, with ${topic}-${moved!.partition} committed at offset ${committed?.offset}.`);
    await sell(12);
    await waitFor('the group to take over the partition', () => consumers.slice(0, 2).reduce((n, c) => n + c.assignment().length, 0) === 3);
    await waitFor('every purchase to be processed', () => sent.every((id) => processed.has(id)));
    const heir = consumers.findIndex((c) => c.assignment().some((p) => p.partition === moved!.partition));
    say(`${topic}-${moved!.partition} moved from consumer-3 to ${names[heir]}, which carried on from offset ${committed?.offset}.`);

    // ---- the outcome ----
    const lost = sent.filter((id) => !processed.has(id));
    const twice = [...processed].filter(([, by]) => by.length > 1);
    say(`${sent.length} purchases sent, ${sent.length - lost.length} processed, ${lost.length} lost, ${twice.length} processed twice.`);
    for (const consumer of consumers.slice(0, 2)) await consumer.commitOffsets();
    const group = await admin.describeGroup(groupId);
    say(`Group '${groupId}' is ${group.state} with ${group.members.length} members:`);
    for (const p of group.partitions) {
      const owner = p.memberId ? (names[consumers.findIndex((c) => c.memberId === p.memberId)] ?? p.memberId) : '-';
      console.log(
        `         ${p.topic}-${p.partition}  committed ${p.committedOffset}  end ${p.highWatermark}  lag ${p.lag}  owner ${owner}`,
      );
    }
    if (lost.length > 0) throw new Error(`lost events: ${lost.join(', ')}`);
  } finally {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await producer.close();
    if (stopRuntime) {
      say('Stopping Logway...');
      // A long poll the consumers abandoned still runs in the service until its wait ends: let it finish.
      await sleep(longPollMs + 200);
      await stopRuntime();
    }
    say('Done.');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
