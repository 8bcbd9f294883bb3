/**
 * Starts the emulators once per test run (DynamoDB Local in memory, s3rver in a temp folder) on
 * free ports, hands their endpoints to every test file, and stops them when the run ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmulators } from '../../infra/local/emulators';
import { functionPolicies, type FunctionPolicies } from './iam-policies';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
    embeddedEmulators: boolean;
    /** Every function's policy from the synthesized template (test/support/iam-setup.ts enforces them). */
    iamPolicies: Pick<FunctionPolicies, 'functions' | 'roles'>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Synthesized once per run at most (cached across runs while infra/ and shared/ are unchanged).
  const { functions, roles } = await functionPolicies();
  project.provide('iamPolicies', { functions, roles });
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
