/**
 * The listener with SASL/SCRAM: KafkaJS and kcat authenticate with SCRAM-SHA-512 and -256, a
 * wrong password or unknown user is refused with an authentication error, nothing but
 * ApiVersions/SASL is read before authentication, and every API is authorized against the
 * user's grants (TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED).
 */
import { Kafka, logLevel, type SASLOptions } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kafkaPermissionsSchema } from '../../shared/kafka/authorization';
import { kafkaErrorCodes } from '../../shared/kafka/errors';
import { type ScramMechanism, scramClient, scramCredential } from '../../shared/kafka/sasl-scram';
import {
  apiVersions,
  fetch,
  findCoordinator,
  initProducerId,
  listOffsets,
  metadata,
  offsetFetch,
  saslAuthenticate,
  saslHandshake,
} from '../../shared/kafka/schema';
import type { KafkaUser, KafkaUserStore } from '../../shared/kafka/users';
import { currentFunction, setAwsRequestCheck, type AwsRequestCheck } from '../../shared/runtime/aws';
import type { IamCheck } from '../support/iam-check';
import { RawClient } from './raw-client';
import { kcatPath, requireKcat, run, useKafkaService } from './support';

const passwords: Record<string, string> = { admin: 'admin-secret', bob: 'bob-secret', carol: 'carol-secret' };
const grants: Record<string, unknown> = {
  admin: { topics: [{ prefix: '', operations: ['admin'] }], groups: [{ prefix: '', operations: ['admin'] }], cluster: ['describe'] },
  // bob may produce to orders; he may see `secret` exists (describe) but not write to it.
  bob: {
    topics: [
      { name: 'orders', operations: ['produce'] },
      { name: 'secret', operations: ['describe'] },
    ],
  },
  carol: {
    topics: [
      { name: 'orders', operations: ['consume'] },
      { name: 'secret', operations: ['describe'] },
    ],
    groups: [{ prefix: 'analytics', operations: ['consume'] }],
  },
};

/** A mutable store (no cache), so a test can revoke a user while it is connected. */
const users = new Map<string, KafkaUser>();
const store: KafkaUserStore = { mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'], user: async (name) => users.get(name) };
function addUser(name: string) {
  users.set(name, {
    scram: {
      'SCRAM-SHA-256': scramCredential('SCRAM-SHA-256', passwords[name]!, { iterations: 4096 }),
      'SCRAM-SHA-512': scramCredential('SCRAM-SHA-512', passwords[name]!, { iterations: 4096 }),
    },
    permissions: kafkaPermissionsSchema.parse(grants[name]),
  });
}
for (const name of Object.keys(passwords)) addUser(name);

const { bootstrap, port } = useKafkaService({ sasl: { store, failureDelayMs: 10 } });

const client = (sasl: SASLOptions | undefined, retries = 2) =>
  new Kafka({
    clientId: 'sasl-test',
    brokers: [bootstrap()],
    logLevel: logLevel.NOTHING,
    retry: { retries, initialRetryTime: 100 },
    ...(sasl ? { sasl } : {}),
  });
const as = (username: string, mechanism: 'scram-sha-512' | 'scram-sha-256' = 'scram-sha-512', password = passwords[username]!) =>
  client({ mechanism, username, password } as SASLOptions);

/** A raw connection that has authenticated with SCRAM over SaslHandshake v1 + SaslAuthenticate v2. */
async function rawAs(username: string, mechanism: ScramMechanism = 'SCRAM-SHA-512'): Promise<RawClient> {
  const raw = await RawClient.open(port());
  expect(await raw.call(saslHandshake, 1, { mechanism })).toMatchObject({ errorCode: 0 });
  const scram = scramClient(mechanism, username, passwords[username]!);
  const first = await raw.call(saslAuthenticate, 2, { authBytes: Buffer.from(scram.first) });
  expect(first.errorCode).toBe(0);
  const final = await raw.call(saslAuthenticate, 2, { authBytes: Buffer.from(scram.final((first.authBytes as Buffer).toString())) });
  expect(final.errorCode, String(final.errorMessage)).toBe(0);
  expect(scram.verify((final.authBytes as Buffer).toString())).toBe(true);
  return raw;
}

const fetchRequest = (topic: string) => ({
  replicaId: -1,
  maxWaitMs: 10,
  minBytes: 1,
  maxBytes: 1 << 20,
  isolationLevel: 0,
  sessionId: 0,
  sessionEpoch: -1,
  topics: [
    { topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0, logStartOffset: -1, partitionMaxBytes: 1 << 20 }] },
  ],
  forgottenTopicsData: [],
  rackId: '',
});

beforeAll(async () => {
  const admin = as('admin').admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'orders' }, { topic: 'secret' }, { topic: 'hidden' }] });
  await admin.disconnect();
});

describe('SASL/SCRAM authentication', () => {
  it.each(['scram-sha-512', 'scram-sha-256'] as const)(
    'KafkaJS with %s and the right password produces and consumes',
    async (mechanism) => {
      const producer = as('bob', mechanism).producer({ idempotent: true });
      await producer.connect();
      await producer.send({ topic: 'orders', messages: [{ key: 'k', value: `hello ${mechanism}` }] });
      await producer.disconnect();

      const consumer = as('carol', mechanism).consumer({ groupId: `analytics-${mechanism}` });
      await consumer.connect();
      await consumer.subscribe({ topic: 'orders', fromBeginning: true });
      const seen: string[] = [];
      await new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              seen.push(message.value!.toString());
              if (seen.includes(`hello ${mechanism}`)) resolve();
            },
          })
          .catch(reject);
      });
      await consumer.disconnect();
      expect(seen).toContain(`hello ${mechanism}`);
    },
  );

  it('KafkaJS with a wrong password, or as an unknown user, fails with an authentication error', async () => {
    for (const kafka of [as('bob', 'scram-sha-512', 'wrong'), client({ mechanism: 'scram-sha-512', username: 'mallory', password: 'x' })]) {
      const producer = kafka.producer();
      await expect(producer.connect()).rejects.toMatchObject({
        name: 'KafkaJSSASLAuthenticationError',
        message: expect.stringContaining('invalid user name or password'),
      });
    }
  });

  it('a client without SASL is cut off at its first request that is not ApiVersions, as Kafka does', async () => {
    const admin = client(undefined, 0).admin();
    await expect(admin.listTopics()).rejects.toThrow();
    const raw = await RawClient.open(port());
    expect((await raw.call(apiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    raw.send(metadata, 8, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    await expect(raw.nextFrame(2000)).rejects.toThrow();
    expect(raw.closed).toBe(true);
  });

  it('SaslAuthenticate before SaslHandshake is ILLEGAL_SASL_STATE, then the connection closes', async () => {
    const raw = await RawClient.open(port());
    const answer = await raw.call(saslAuthenticate, 2, { authBytes: Buffer.from('n,,n=carol,r=x') });
    expect(answer).toMatchObject({ errorCode: kafkaErrorCodes.ILLEGAL_SASL_STATE, errorMessage: expect.stringContaining('SaslHandshake') });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(raw.closed).toBe(true);
  });

  it('an unknown mechanism is UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes', async () => {
    const raw = await RawClient.open(port());
    expect(await raw.call(saslHandshake, 1, { mechanism: 'PLAIN' })).toEqual({
      errorCode: kafkaErrorCodes.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['SCRAM-SHA-256', 'SCRAM-SHA-512'],
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(raw.closed).toBe(true);
  });

  it('SaslHandshake v0: the SCRAM tokens travel as bare frames, then the connection is authenticated', async () => {
    const raw = await RawClient.open(port());
    expect(await raw.call(saslHandshake, 0, { mechanism: 'SCRAM-SHA-256' })).toMatchObject({ errorCode: 0 });
    const scram = scramClient('SCRAM-SHA-256', 'carol', passwords.carol!);
    const frame = (text: string) => {
      const out = Buffer.alloc(4 + Buffer.byteLength(text));
      out.writeInt32BE(Buffer.byteLength(text), 0);
      out.write(text, 4);
      return out;
    };
    raw.sendRaw(frame(scram.first));
    const serverFirst = (await raw.nextFrame()).toString();
    raw.sendRaw(frame(scram.final(serverFirst)));
    expect(scram.verify((await raw.nextFrame()).toString())).toBe(true);
    const meta = await raw.call(metadata, 8, {
      topics: null,
      allowAutoTopicCreation: false,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    expect((meta.topics as { name: string }[]).map((t) => t.name).sort()).toEqual(['orders', 'secret']);
    raw.close();
  });

  it('after authentication, another SaslHandshake is ILLEGAL_SASL_STATE and the connection stays', async () => {
    const raw = await rawAs('carol');
    expect((await raw.call(saslHandshake, 1, { mechanism: 'SCRAM-SHA-512' })).errorCode).toBe(kafkaErrorCodes.ILLEGAL_SASL_STATE);
    expect((await raw.call(saslAuthenticate, 2, { authBytes: Buffer.from('n,,n=carol,r=x') })).errorCode).toBe(
      kafkaErrorCodes.ILLEGAL_SASL_STATE,
    );
    expect((await raw.call(apiVersions, 3, { clientSoftwareName: 't', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    raw.close();
  });
});

describe('per-topic and per-group authorization', () => {
  it('produce to a topic without a produce grant is TOPIC_AUTHORIZATION_FAILED (KafkaJS)', async () => {
    const producer = as('bob').producer();
    await producer.connect();
    await expect(producer.send({ topic: 'secret', messages: [{ value: 'x' }] })).rejects.toMatchObject({
      type: 'TOPIC_AUTHORIZATION_FAILED',
    });
    await producer.disconnect();
  });

  it('a KafkaJS consumer of a topic without a consume grant crashes with TOPIC_AUTHORIZATION_FAILED', async () => {
    const consumer = as('carol').consumer({ groupId: 'analytics-denied', retry: { retries: 0 } });
    await consumer.connect();
    await consumer.subscribe({ topic: 'secret', fromBeginning: true });
    const crashed = new Promise<unknown>((resolve) => {
      consumer.on(consumer.events.CRASH, (event) => resolve(event.payload.error));
    });
    await consumer.run({ eachMessage: async () => {} });
    const error = await crashed;
    await consumer.disconnect();
    // KafkaJS wraps the protocol error it will not retry.
    const cause = (error as { cause?: unknown }).cause ?? error;
    expect(cause, JSON.stringify(error)).toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED', code: 29 });
  });

  it('metadata lists only the topics the user may describe, and refuses a named one', async () => {
    const admin = as('bob').admin();
    await admin.connect();
    expect((await admin.listTopics()).sort()).toEqual(['orders', 'secret']);
    await expect(admin.fetchTopicMetadata({ topics: ['hidden'] })).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
    await expect(admin.createTopics({ topics: [{ topic: 'bobs' }] })).rejects.toThrow();
    await admin.disconnect();
  });

  it('fetch and list offsets of a topic without a consume grant are TOPIC_AUTHORIZATION_FAILED per partition', async () => {
    const raw = await rawAs('carol');
    const denied = await raw.call(fetch, 11, fetchRequest('secret'));
    expect((denied.responses as { partitions: { errorCode: number }[] }[])[0]!.partitions[0]!.errorCode).toBe(
      kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED,
    );
    const allowed = await raw.call(fetch, 11, fetchRequest('orders'));
    expect((allowed.responses as { partitions: { errorCode: number }[] }[])[0]!.partitions[0]!.errorCode).toBe(0);
    const offsets = await raw.call(listOffsets, 5, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'secret', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1 }] }],
    });
    expect((offsets.topics as { partitions: { errorCode: number }[] }[])[0]!.partitions[0]!.errorCode).toBe(
      kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED,
    );
    // An idempotent producer id needs a produce grant somewhere (Kafka's IDEMPOTENT_WRITE rule).
    expect((await raw.call(initProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60000 })).errorCode).toBe(
      kafkaErrorCodes.CLUSTER_AUTHORIZATION_FAILED,
    );
    raw.close();
  });

  it('a group without a grant is GROUP_AUTHORIZATION_FAILED; groups are listed only when granted', async () => {
    const admin = as('carol').admin();
    await admin.connect();
    // KafkaJS turns FindCoordinator's GROUP_AUTHORIZATION_FAILED into "Failed to find group coordinator"; the raw answers below show the code.
    await expect(admin.fetchOffsets({ groupId: 'payments', topics: ['orders'] })).rejects.toThrow('group coordinator');
    const listed = (await admin.listGroups()).groups.map((g) => g.groupId);
    expect(listed.every((g) => g.startsWith('analytics'))).toBe(true);
    await expect(admin.deleteGroups(['analytics-scram-sha-512'])).rejects.toThrow();
    await expect(admin.describeConfigs({ resources: [{ type: 4, name: '0' }], includeSynonyms: false })).rejects.toMatchObject({
      type: 'CLUSTER_AUTHORIZATION_FAILED',
    });
    await admin.disconnect();

    const raw = await rawAs('carol');
    expect((await raw.call(findCoordinator, 2, { key: 'payments', keyType: 0 })).errorCode).toBe(
      kafkaErrorCodes.GROUP_AUTHORIZATION_FAILED,
    );
    expect((await raw.call(findCoordinator, 2, { key: 'analytics-x', keyType: 0 })).errorCode).toBe(0);
    expect((await raw.call(offsetFetch, 5, { groupId: 'payments', topics: null })).errorCode).toBe(
      kafkaErrorCodes.GROUP_AUTHORIZATION_FAILED,
    );
    raw.close();
  });

  it('a revoked user loses access on an open connection (permissions are re-read per request)', async () => {
    const raw = await rawAs('carol');
    expect((await raw.call(fetch, 11, fetchRequest('orders'))).responses).toMatchObject([{ partitions: [{ errorCode: 0 }] }]);
    users.delete('carol');
    try {
      expect((await raw.call(fetch, 11, fetchRequest('orders'))).responses).toMatchObject([
        { partitions: [{ errorCode: kafkaErrorCodes.TOPIC_AUTHORIZATION_FAILED }] },
      ]);
    } finally {
      addUser('carol');
      raw.close();
    }
  });
});

describe('the task role', () => {
  it("every AWS call a Kafka handler makes runs as 'kafka-gateway', checked against the gateway task role's synthesized policy", async () => {
    const installed = (globalThis as { logwayIamCheck?: IamCheck }).logwayIamCheck!;
    const callers = new Set<string | undefined>();
    const spy: AwsRequestCheck = (request) => {
      callers.add(currentFunction());
      return installed.check(request);
    };
    setAwsRequestCheck(spy);
    const before = installed.evaluated;
    try {
      const producer = as('bob').producer();
      await producer.connect();
      await producer.send({ topic: 'orders', messages: [{ value: 'checked' }] });
      await producer.disconnect();
    } finally {
      setAwsRequestCheck(installed.check);
    }
    expect([...callers]).toEqual(['kafka-gateway']);
    expect(installed.evaluated).toBeGreaterThan(before);
  });
});

describe('kcat (librdkafka) with SASL_PLAINTEXT and SCRAM-SHA-512', () => {
  beforeAll(() => requireKcat());
  const kcat = (user: string, args: string[], options: Parameters<typeof run>[2] = {}, password = passwords[user]!) =>
    run(
      kcatPath,
      [
        '-b',
        bootstrap(),
        '-X',
        'security.protocol=SASL_PLAINTEXT',
        '-X',
        'sasl.mechanisms=SCRAM-SHA-512',
        '-X',
        `sasl.username=${user}`,
        '-X',
        `sasl.password=${password}`,
        ...args,
      ],
      options,
    );

  it('lists the topics the user may describe; a wrong password fails with an authentication error', async () => {
    const ok = await kcat('bob', ['-L', '-J', '-m', '5']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(
      JSON.parse(ok.stdout)
        .topics.map((t: { topic: string }) => t.topic)
        .sort(),
    ).toEqual(['orders', 'secret']);
    const bad = await kcat('bob', ['-L', '-m', '3'], {}, 'wrong');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Authentication failed|SASL authentication error/i);
  });

  it('produces where granted; produce and consume where not are topic authorization failures', async () => {
    const ok = await kcat('bob', ['-P', '-t', 'orders', '-p', '0'], { input: 'from-kcat\n' });
    expect(ok.code, ok.stderr).toBe(0);
    const read = await kcat('carol', ['-C', '-t', 'orders', '-p', '0', '-o', 'beginning', '-e', '-q']);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('from-kcat');

    const denied = await kcat('bob', ['-P', '-t', 'secret', '-p', '0', '-X', 'message.timeout.ms=5000'], { input: 'nope\n' });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Topic authorization failed/i);
    const deniedRead = await kcat('carol', ['-C', '-t', 'secret', '-p', '0', '-o', 'beginning', '-e'], { timeoutMs: 15_000 });
    expect(deniedRead.stderr).toMatch(/Topic authorization failed/i);
  });
});
