import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canCluster,
  canGroup,
  canProduceAnywhere,
  canTopic,
  groupOperations,
  type KafkaPermissions,
  kafkaPermissionsSchema,
  topicOperations,
} from '../../shared/kafka/authorization';
import {
  jsonUserStore,
  parseUserRecord,
  cachedUserStore,
  userRecordJson,
  userStoreFromEnv,
  type KafkaUserStore,
} from '../../shared/kafka/users';
import { scramCredential } from '../../shared/kafka/sasl-scram';

const perms = (value: unknown): KafkaPermissions => kafkaPermissionsSchema.parse(value);

const name = fc.stringMatching(/^[a-z0-9._-]{1,12}$/);
const topicGrant = fc.record({
  key: fc.constantFrom('name', 'prefix'),
  value: fc.stringMatching(/^[a-z0-9._-]{0,6}$/),
  operations: fc.subarray([...topicOperations], { minLength: 1 }),
});
const permissionsArb = fc.array(topicGrant, { maxLength: 5 }).map((grants) =>
  perms({
    topics: grants.map((g) =>
      g.key === 'name' && g.value !== '' ? { name: g.value, operations: g.operations } : { prefix: g.value, operations: g.operations },
    ),
  }),
);

describe('Kafka gateway permissions', () => {
  it('nothing is allowed without a grant, nor for a user that no longer exists', () => {
    for (const op of topicOperations) {
      expect(canTopic(perms({}), 'orders', op)).toBe(false);
      expect(canTopic(undefined, 'orders', op)).toBe(false);
    }
    for (const op of groupOperations) expect(canGroup(perms({}), 'g', op)).toBe(false);
    expect(canCluster(perms({}), 'describe')).toBe(false);
    expect(canProduceAnywhere(perms({ topics: [{ name: 'x', operations: ['consume'] }] }))).toBe(false);
  });

  it('operations imply as in Kafka: admin everything, produce and consume describe, and not each other', () => {
    const p = perms({
      topics: [
        { name: 'w', operations: ['produce'] },
        { name: 'r', operations: ['consume'] },
        { name: 'a', operations: ['admin'] },
      ],
      groups: [
        { name: 'g', operations: ['consume'] },
        { name: 'ops', operations: ['admin'] },
      ],
    });
    expect(topicOperations.filter((op) => canTopic(p, 'w', op))).toEqual(['describe', 'produce']);
    expect(topicOperations.filter((op) => canTopic(p, 'r', op))).toEqual(['describe', 'consume']);
    expect(topicOperations.filter((op) => canTopic(p, 'a', op))).toEqual([...topicOperations]);
    expect(groupOperations.filter((op) => canGroup(p, 'g', op))).toEqual(['consume']);
    expect(groupOperations.filter((op) => canGroup(p, 'ops', op))).toEqual([...groupOperations]);
    expect(canProduceAnywhere(p)).toBe(true);
  });

  it('a name grant is exact (unlike `orders*` in IAM); a prefix grant covers what starts with it; prefix "" everything (property)', () => {
    fc.assert(
      fc.property(name, name, fc.constantFrom(...topicOperations), (a, suffix, op) => {
        const exact = perms({ topics: [{ name: a, operations: ['admin'] }] });
        expect(canTopic(exact, a, op)).toBe(true);
        expect(canTopic(exact, a + suffix, op)).toBe(false);
        const prefixed = perms({ topics: [{ prefix: a, operations: ['admin'] }] });
        expect(canTopic(prefixed, a + suffix, op)).toBe(true);
        expect(canTopic(perms({ topics: [{ prefix: '', operations: ['admin'] }] }), suffix, op)).toBe(true);
      }),
    );
  });

  it('adding a grant never takes a permission away (property)', () => {
    fc.assert(
      fc.property(permissionsArb, topicGrant, name, fc.constantFrom(...topicOperations), (p, extra, topic, op) => {
        const more = perms({
          topics: [
            ...p.topics,
            extra.key === 'name' && extra.value !== ''
              ? { name: extra.value, operations: extra.operations }
              : { prefix: extra.value, operations: extra.operations },
          ],
        });
        if (canTopic(p, topic, op)) expect(canTopic(more, topic, op)).toBe(true);
      }),
    );
  });

  it('refuses permission documents with unknown operations or fields', () => {
    expect(kafkaPermissionsSchema.safeParse({ topics: [{ name: 'x', operations: ['write'] }] }).success).toBe(false);
    expect(kafkaPermissionsSchema.safeParse({ topics: [{ name: 'x', prefix: 'y', operations: ['admin'] }] }).success).toBe(false);
    expect(kafkaPermissionsSchema.safeParse({ superuser: true }).success).toBe(false);
    expect(kafkaPermissionsSchema.safeParse({ topics: [{ name: 'x', operations: [] }] }).success).toBe(false);
  });
});

describe('Kafka user stores', () => {
  const record = {
    ...userRecordJson({
      scram: { 'SCRAM-SHA-512': scramCredential('SCRAM-SHA-512', 'pw', { iterations: 4096 }) },
      permissions: perms({ topics: [{ name: 'orders', operations: ['produce'] }] }),
    }),
  };

  it('a record round-trips through its JSON; one with a password or weak iterations is refused', () => {
    const parsed = parseUserRecord(JSON.stringify(record), 'alice');
    expect(userRecordJson(parsed)).toEqual(record);
    expect(() => parseUserRecord(JSON.stringify({ ...record, password: 'pw' }), 'alice')).toThrow('password');
    const weak = JSON.parse(JSON.stringify(record));
    weak.scram['SCRAM-SHA-512'].iterations = 100;
    expect(() => parseUserRecord(JSON.stringify(weak), 'alice')).toThrow('iterations');
    expect(() => parseUserRecord('{', 'alice')).toThrow('not JSON');
  });

  it('KAFKA_SASL_USERS: inline JSON or a file; nothing set means no SASL; both stores set is an error', async () => {
    expect(userStoreFromEnv({})).toBeUndefined();
    const store = userStoreFromEnv({ KAFKA_SASL_USERS: JSON.stringify({ users: { alice: record } }) })!;
    expect((await store.user('alice'))?.permissions.topics).toEqual([{ name: 'orders', operations: ['produce'] }]);
    expect(await store.user('bob')).toBeUndefined();
    expect(() => userStoreFromEnv({ KAFKA_SASL_USERS: '/no/such/file.json' })).toThrow('names no file');
    expect(() => userStoreFromEnv({ KAFKA_SASL_USERS: '{"users": 1}' })).toThrow('users');
    expect(() => userStoreFromEnv({ KAFKA_SASL_USERS: '{}', KAFKA_SASL_SECRET_PREFIX: 'x/' })).toThrow('not both');
  });

  it('the cache reads a user once per TTL, and forgets failed reads', async () => {
    let reads = 0;
    let fail = true;
    const inner: KafkaUserStore = {
      mechanisms: ['SCRAM-SHA-512'],
      async user(name) {
        reads++;
        if (fail) throw new Error('store down');
        return jsonUserStore({ users: { alice: record } }).user(name);
      },
    };
    const cached = cachedUserStore(inner, 60_000);
    await expect(cached.user('alice')).rejects.toThrow('store down');
    fail = false;
    expect(await cached.user('alice')).toBeDefined();
    expect(await cached.user('alice')).toBeDefined();
    expect(reads).toBe(2);
  });
});

describe('npm run kafka-user', () => {
  it('parses grants: NAME:OPS exact, NAME*:OPS prefix, *:OPS everything; refuses unknown operations', async () => {
    const { buildUser, parseGrant } = await import('../../infra/kafka-gateway/kafka-user');
    expect(parseGrant('orders:produce,consume')).toEqual({ name: 'orders', operations: ['produce', 'consume'] });
    expect(parseGrant('team-a.*:consume')).toEqual({ prefix: 'team-a.', operations: ['consume'] });
    expect(parseGrant('*:admin')).toEqual({ prefix: '', operations: ['admin'] });
    expect(parseGrant('a:b:produce')).toEqual({ name: 'a:b', operations: ['produce'] });
    expect(() => parseGrant('orders')).toThrow('NAME:OPERATIONS');
    const user = buildUser('pw', { topics: ['orders:produce'], groups: ['g*:consume'], cluster: [], iterations: 4096 });
    expect(Object.keys(user.scram).sort()).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512']);
    expect(JSON.stringify(userRecordJson(user))).not.toContain('pw"');
    expect(() => buildUser('pw', { topics: ['orders:write'], groups: [], cluster: [], iterations: 4096 })).toThrow('topic operations are');
  });
});
