/**
 * LOGWAY_TEST_BACKEND=localstack: the integration suites against LocalStack in Docker. Where no
 * Docker engine runs (these machines), `npm test` fails at once in the global setup with the
 * message below; the embedded emulators stay the default.
 */
import { ListTablesCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { DockerUnavailableError, requireDocker, startLocalStack, testBackend } from '../support/localstack';

describe('test backend selection', () => {
  it('embedded by default; localstack on request; anything else is refused with the choices', () => {
    expect(testBackend(undefined)).toBe('embedded');
    expect(testBackend('')).toBe('embedded');
    expect(testBackend('localstack')).toBe('localstack');
    expect(() => testBackend('docker')).toThrow(/LOGWAY_TEST_BACKEND='docker' is not a test backend.*'localstack'/);
  });

  it('without a Docker engine, fails at once and says what to do', async () => {
    const started = Date.now();
    const noEngine = () => Promise.reject(new Error('Could not find a working container runtime strategy'));
    const failure = startLocalStack({ probe: noEngine });
    await expect(failure).rejects.toBeInstanceOf(DockerUnavailableError);
    await expect(failure).rejects.toThrow(/no Docker engine could be reached.*Start Docker.*unset LOGWAY_TEST_BACKEND/s);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe.runIf(process.env.LOGWAY_TEST_BACKEND === 'localstack')('with LOGWAY_TEST_BACKEND=localstack', () => {
  it('this machine has a Docker engine (else the run failed in the global setup with the message above)', async () => {
    await expect(requireDocker()).resolves.toBeUndefined();
  });

  it('the suites talk to LocalStack, not the embedded emulators', async () => {
    expect(inject('testBackend')).toBe('localstack');
    expect(inject('embeddedEmulators')).toBe(false);
    expect(inject('dynamodbEndpoint')).toBe(inject('s3Endpoint'));
    const client = new DynamoDBClient({
      endpoint: inject('dynamodbEndpoint'),
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await expect(client.send(new ListTablesCommand({}))).resolves.toHaveProperty('TableNames');
    } finally {
      client.destroy();
    }
  });
});
