/**
 * The warm-up `npm start` runs before it listens (infra/local/warm-up.ts): it appends on a scratch
 * table of the embedded DynamoDB Local, drops it, and drops one a killed start left behind; the
 * service's tables are never touched.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createTableInput, emulatorCredentials } from '../../infra/local/bootstrap';
import { warmUpDynamoDbLocal } from '../../infra/local/warm-up';
import { tables } from '../../shared/storage/tables';

let endpoint: string;
let client: DynamoDBClient;

beforeAll(() => {
  const configured = inject('dynamodbEndpoint');
  if (!configured || !inject('embeddedEmulators'))
    throw new Error('needs the embedded emulators: list this file in integrationTests in vitest.config.ts');
  endpoint = configured;
  client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: emulatorCredentials });
});

/** Every table of the emulator (other test files create theirs meanwhile). */
async function tableNames(): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: after }));
    names.push(...(page.TableNames ?? []));
    after = page.LastEvaluatedTableName;
  } while (after);
  return names;
}

describe('warming DynamoDB Local', () => {
  it("appends until its target, then leaves no scratch table, a killed start's included, and keeps every other table", async () => {
    const service = `warm-up-test-${randomUUID().slice(0, 8)}-chunks`;
    await client.send(new CreateTableCommand(createTableInput(tables.chunks, service)));
    await client.send(new CreateTableCommand(createTableInput(tables.chunks, 'logway-warm-up-leftover')));
    expect(await warmUpDynamoDbLocal(endpoint, { maxMs: 30_000, appends: 40 })).toBeGreaterThanOrEqual(40);
    const after = await tableNames();
    expect(after.filter((name) => name.startsWith('logway-warm-up-'))).toEqual([]);
    expect(after).toContain(service);
  });

  it('stops at its time bound', async () => {
    const started = Date.now();
    const appended = await warmUpDynamoDbLocal(endpoint, { maxMs: 200, appends: 1_000_000 });
    expect(appended).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
