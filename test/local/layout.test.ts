/**
 * The storage layout of kept data (infra/local/bootstrap.ts): a data folder records its layout,
 * and the local runtime refuses one of another layout, saying what to do, before it creates
 * anything in it. A folder made before layouts were recorded (layout 1: a `-batches` table, or
 * tables and no marker) is refused too; a new folder is created at this layout and marked.
 */
import { spawnSync } from 'node:child_process';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import {
  bootstrapLocalResources,
  checkDataFolderMarker,
  emulatorCredentials,
  keptLayout,
  layoutMarkerFile,
  localResourceNames,
  readLayoutMarker,
} from '../../infra/local/bootstrap';
import { startEmulators } from '../../infra/local/emulators';
import { freePort } from '../../infra/local/processes';
import { startLocalRuntime } from '../../infra/local/runtime';
import { storageLayoutVersion } from '../../shared/storage/tables';

const folders: string[] = [];
const newFolder = () => {
  const folder = mkdtempSync(join(tmpdir(), 'logway-layout-'));
  folders.push(folder);
  return folder;
};
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

/** Processes whose command line names the folder (DynamoDB Local's -dbPath). */
const javaOn = (folder: string) =>
  spawnSync('ps', ['-e', '-o', 'pid=,args='], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((line) => line.includes(join(folder, 'dynamodb')) && !line.includes('ps -e'));

let prefixes = 0;
const newPrefix = () => `layout-${process.pid}-${prefixes++}`;

/** A table as layout 1 made it: `<prefix>-batches`, keyed (partitionKey, lastOffset). */
async function createLayout1Table(endpoint: string, name: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: emulatorCredentials });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'partitionKey', AttributeType: 'S' },
          { AttributeName: 'lastOffset', AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'partitionKey', KeyType: 'HASH' },
          { AttributeName: 'lastOffset', KeyType: 'RANGE' },
        ],
      }),
    );
  } finally {
    client.destroy();
  }
}

async function tableNames(endpoint: string): Promise<string[]> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: emulatorCredentials });
  try {
    return (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  } finally {
    client.destroy();
  }
}

describe('which layout kept data is (pure)', () => {
  const prefix = 'logway-local';
  it('a -batches table is layout 1, whatever the marker says', () => {
    expect(keptLayout({ existingTables: ['logway-local-batches', 'logway-local-topics'], tablesInFolder: true }, prefix)).toMatchObject({
      version: 1,
    });
    expect(keptLayout({ markerVersion: 2, existingTables: ['logway-local-batches'], tablesInFolder: true }, prefix)?.version).toBe(1);
  });

  it('the marker decides otherwise; tables in the folder without a marker are layout 1; nothing kept is no layout', () => {
    expect(keptLayout({ markerVersion: 2, existingTables: ['logway-local-chunks'], tablesInFolder: true }, prefix)?.version).toBe(2);
    expect(keptLayout({ markerVersion: 3, existingTables: [], tablesInFolder: true }, prefix)?.version).toBe(3);
    expect(keptLayout({ existingTables: ['logway-local-topics'], tablesInFolder: true }, prefix)).toMatchObject({
      version: 1,
      evidence: expect.stringMatching(/no storage-layout\.json/),
    });
    expect(keptLayout({ existingTables: [], tablesInFolder: true }, prefix)).toBeUndefined();
    // Tables outside the folder (LocalStack, a shared DynamoDB Local) say nothing without layout 1's table.
    expect(keptLayout({ existingTables: ['logway-local-topics'], tablesInFolder: false }, prefix)).toBeUndefined();
  });

  it('a marker it cannot read is refused with what to do', () => {
    const folder = newFolder();
    expect(readLayoutMarker(folder)).toBeUndefined();
    writeFileSync(join(folder, layoutMarkerFile), '{not json');
    expect(() => readLayoutMarker(folder)).toThrow(/not valid JSON.*move the data folder aside/);
    writeFileSync(join(folder, layoutMarkerFile), '{"storageLayoutVersion": "two"}');
    expect(() => readLayoutMarker(folder)).toThrow(/no storageLayoutVersion/);
  });
});

describe('bootstrap against kept data', () => {
  const endpoints = () => ({ dynamodb: inject('dynamodbEndpoint'), s3: inject('s3Endpoint') });

  it('a new folder gets this layout, recorded; starting again on it is fine', async () => {
    const folder = newFolder();
    const prefix = newPrefix();
    await bootstrapLocalResources(endpoints(), prefix, { embedded: true, dataDir: folder });
    const marker = JSON.parse(readFileSync(join(folder, layoutMarkerFile), 'utf8')) as Record<string, unknown>;
    expect(marker.storageLayoutVersion).toBe(storageLayoutVersion);
    expect(readLayoutMarker(folder)).toBe(2);
    await bootstrapLocalResources(endpoints(), prefix, { embedded: true, dataDir: folder });
    expect(await tableNames(endpoints().dynamodb)).toContain(localResourceNames(prefix).tables.chunks);
  });

  it('refuses a folder of layout 1 (its batches table) before creating anything, saying what to do', async () => {
    const folder = newFolder();
    const prefix = newPrefix();
    await createLayout1Table(endpoints().dynamodb, `${prefix}-batches`);
    const refused = bootstrapLocalResources(endpoints(), prefix, { embedded: true, dataDir: folder });
    await expect(refused).rejects.toThrow(
      new RegExp(
        `The data folder ${folder} holds Logway data of storage layout 1 \\(it has the table ${prefix}-batches.*reads and writes layout 2.*` +
          'Move the folder aside \\(or set LOGWAY_DATA_DIR to a new folder\\).*Upgrading a deployed stack to layout 2',
      ),
    );
    const names = await tableNames(endpoints().dynamodb);
    expect(names.filter((name) => name.startsWith(`${prefix}-`))).toEqual([`${prefix}-batches`]);
    expect(readLayoutMarker(folder)).toBeUndefined();
  });

  it('refuses tables kept without a marker (made before layouts were recorded)', async () => {
    const folder = newFolder();
    const prefix = newPrefix();
    // Made by a Logway before markers: its tables, and no storage-layout.json.
    await bootstrapLocalResources(endpoints(), prefix, { embedded: true });
    await expect(bootstrapLocalResources(endpoints(), prefix, { embedded: true, dataDir: folder })).rejects.toThrow(
      /storage layout 1 \(it has tables .* but no storage-layout\.json: it was made before layouts were recorded\)/,
    );
  });

  it('without a data folder (LocalStack, a shared emulator), refuses layout 1 tables under the prefix', async () => {
    const prefix = newPrefix();
    await createLayout1Table(endpoints().dynamodb, `${prefix}-batches`);
    await expect(bootstrapLocalResources(endpoints(), prefix, { embedded: true })).rejects.toThrow(
      new RegExp(`DynamoDB at ${endpoints().dynamodb.replace(/[.:/]/g, '\\$&')} holds Logway data of storage layout 1`),
    );
  });
});

describe('the local runtime (npm start) on a kept data folder', () => {
  it('refuses a marker of another layout before starting anything', async () => {
    const folder = newFolder();
    writeFileSync(join(folder, layoutMarkerFile), JSON.stringify({ storageLayoutVersion: 3 }));
    expect(() => checkDataFolderMarker(folder)).toThrow(/storage layout 3/);
    const started = Date.now();
    await expect(startLocalRuntime({ dataDir: folder, port: await freePort(), scheduler: false, triggers: false })).rejects.toThrow(
      /holds Logway data of storage layout 3 \(its storage-layout\.json says so\)/,
    );
    expect(Date.now() - started).toBeLessThan(2000); // no JVM was started
  });

  it('refuses a folder made by layout 1 (DynamoDB Local files with a batches table, no marker) and stops its emulators', async () => {
    const folder = newFolder();
    mkdirSync(folder, { recursive: true });
    // The embedded emulators on the folder, as npm start runs them, whatever this process was given.
    const saved = {
      dynamodb: process.env.AWS_ENDPOINT_URL_DYNAMODB,
      s3: process.env.AWS_ENDPOINT_URL_S3,
      any: process.env.AWS_ENDPOINT_URL,
    };
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    delete process.env.AWS_ENDPOINT_URL_S3;
    delete process.env.AWS_ENDPOINT_URL;
    try {
      // A data folder as layout 1's npm start left it: DynamoDB Local's files under dynamodb/.
      const old = await startEmulators({ dataDir: folder });
      try {
        await createLayout1Table(old.endpoints.dynamodb, 'logway-local-batches');
      } finally {
        await old.stop();
      }
      await expect(startLocalRuntime({ dataDir: folder, port: await freePort(), scheduler: false, triggers: false })).rejects.toThrow(
        new RegExp(`The data folder ${folder} holds Logway data of storage layout 1 \\(it has the table logway-local-batches`),
      );
    } finally {
      for (const [name, value] of [
        ['AWS_ENDPOINT_URL_DYNAMODB', saved.dynamodb],
        ['AWS_ENDPOINT_URL_S3', saved.s3],
        ['AWS_ENDPOINT_URL', saved.any],
      ] as const) {
        if (value !== undefined) process.env[name] = value;
      }
    }
    expect(readLayoutMarker(folder)).toBeUndefined();
    // No DynamoDB Local is left running on the folder.
    for (let i = 0; i < 50 && javaOn(folder).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(javaOn(folder)).toEqual([]);
  }, 60_000);
});
