/**
 * The AWS user store (one Secrets Manager secret per user) through the real SDK client, against a
 * small fake of Secrets Manager's JSON protocol on a local port: found, not found, a name that
 * cannot be a secret, a malformed record, a service failure.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaPermissionsSchema } from '../../shared/kafka/authorization';
import { scramCredential } from '../../shared/kafka/sasl-scram';
import { cachedUserStore, secretsManagerUserStore, userRecordJson, UserStoreError } from '../../shared/kafka/users';

const record = JSON.stringify(
  userRecordJson({
    scram: { 'SCRAM-SHA-512': scramCredential('SCRAM-SHA-512', 'pw', { iterations: 4096 }) },
    permissions: kafkaPermissionsSchema.parse({ topics: [{ name: 'orders', operations: ['consume'] }] }),
  }),
);
const secrets: Record<string, string> = {
  'Logway-test/kafka-users/alice': record,
  'Logway-test/kafka-users/broken': '{"scram": {}, "permissions": {}, "password": "oops"}',
};
const requests: { target: string; secretId: string }[] = [];
let server: Server;
let client: SecretsManagerClient;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target']);
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      requests.push({ target, secretId: SecretId });
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (SecretId.endsWith('/down')) {
        res.statusCode = 500;
        res.end(JSON.stringify({ __type: 'InternalServiceError', message: 'down' }));
      } else if (secrets[SecretId] === undefined) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
      } else {
        res.end(
          JSON.stringify({
            ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`,
            Name: SecretId,
            SecretString: secrets[SecretId],
          }),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('Secrets Manager user store', () => {
  const store = () => secretsManagerUserStore('Logway-test/kafka-users/', client);

  it('reads <prefix><user> with GetSecretValue and parses the record', async () => {
    const alice = await store().user('alice');
    expect(alice?.permissions.topics).toEqual([{ name: 'orders', operations: ['consume'] }]);
    expect(alice?.scram['SCRAM-SHA-512']?.iterations).toBe(4096);
    expect(requests.at(-1)).toEqual({ target: 'secretsmanager.GetSecretValue', secretId: 'Logway-test/kafka-users/alice' });
  });

  it('an unknown user is undefined; a name no secret can have is undefined without a request', async () => {
    expect(await store().user('bob')).toBeUndefined();
    const before = requests.length;
    expect(await store().user('../etc/passwd')).toBeUndefined();
    expect(await store().user('x'.repeat(65))).toBeUndefined();
    expect(requests.length).toBe(before);
  });

  it('a malformed record and a failing service are errors, not "no such user"', async () => {
    await expect(store().user('broken')).rejects.toThrow(UserStoreError);
    await expect(store().user('down')).rejects.toThrow();
  });

  it('cached: one read per user per TTL', async () => {
    const cached = cachedUserStore(store(), 60_000);
    const before = requests.length;
    await cached.user('alice');
    await cached.user('alice');
    await cached.user('bob');
    await cached.user('bob');
    expect(requests.length - before).toBe(2);
  });
});
