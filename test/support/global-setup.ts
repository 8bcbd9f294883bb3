/**
 * Starts the emulators once per test run (DynamoDB Local in memory, s3rver in a temp folder) on
 * free ports, hands their endpoints to every test file, and stops them when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmulators } from '../../infra/local/emulators';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
    embeddedEmulators: boolean;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const s3Directory = mkdtempSync(join(tmpdir(), 'logway-test-s3-'));
  const emulators = await startEmulators({ s3Directory });
  project.provide('dynamodbEndpoint', emulators.endpoints.dynamodb);
  project.provide('s3Endpoint', emulators.endpoints.s3);
  project.provide('embeddedEmulators', emulators.started.length > 0);
  return async () => {
    await emulators.stop();
    rmSync(s3Directory, { recursive: true, force: true });
  };
}
