/**
 * Starts the storage backend once per test run and hands its endpoints to every test file, then
 * stops it when the run ends. By default the embedded emulators (DynamoDB Local in memory, s3rver
 * in a temp folder, on free ports); with LOGWAY_TEST_BACKEND=localstack, LocalStack in Docker
 * (test/support/localstack.ts), failing at once where no Docker engine runs.
 *
 * Also provides every function's IAM policy from the synthesized template, which
 * test/support/iam-setup.ts enforces on every SDK call a handler makes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmulators } from '../../infra/local/emulators';
import { functionPolicies, type FunctionPolicies } from './iam-policies';
import { startLocalStack, testBackend, type TestBackend } from './localstack';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    s3Endpoint: string;
    embeddedEmulators: boolean;
    testBackend: TestBackend;
    /** Every function's policy from the synthesized template (test/support/iam-setup.ts enforces them). */
    iamPolicies: Pick<FunctionPolicies, 'functions' | 'roles'>;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const backend = testBackend();
  project.provide('testBackend', backend);
  if (backend === 'localstack') {
    // Before anything slow: without Docker this throws, and the run ends with its message.
    const localstack = await startLocalStack();
    await provideIamPolicies(project);
    project.provide('dynamodbEndpoint', localstack.endpoint);
    project.provide('s3Endpoint', localstack.endpoint);
    project.provide('embeddedEmulators', false);
    return () => localstack.stop();
  }
  await provideIamPolicies(project);
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

async function provideIamPolicies(project: TestProject): Promise<void> {
  // Synthesized once per run at most (cached across runs while infra/ and shared/ are unchanged).
  const { functions, roles } = await functionPolicies();
  project.provide('iamPolicies', { functions, roles });
}
