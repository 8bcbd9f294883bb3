import { defineConfig } from 'vitest/config';

/**
 * Test tiers (CONTRIBUTING.md "Running the tests"). Every file under test/ named *.test.ts is in
 * exactly one project:
 * - integration: the files listed here. They need Java and the emulators (DynamoDB Local and
 *   s3rver, started once by test/support/global-setup.ts): every file that uses
 *   test/support/local-service.ts, and `npm start` itself. test/tiers.test.ts fails
 *   when a file uses the emulators without being listed.
 * - infra: test/infra/ (CDK synthesis and bundling: no emulators, but slow).
 * - unit: everything else: pure logic, fake HTTP servers, no Java, no emulators.
 * `npm test` runs all three; `npm run test:unit`, `test:integration` and `test:infra` run one.
 */
export const integrationTests = [
  'test/cli/cli.test.ts',
  'test/cli/package.test.ts',
  'test/client/client.test.ts',
  'test/client/consumer-group.test.ts',
  'test/chaos/proxy.test.ts',
  'test/chaos/regressions.test.ts',
  'test/client/producer-faults.test.ts',
  'test/console/console.test.ts',
  'test/console/proxy.test.ts',
  'test/groups/limits.http.test.ts',
  'test/groups/membership.http.test.ts',
  'test/groups/offsets.http.test.ts',
  'test/groups/store.test.ts',
  'test/http/hostile-input.test.ts',
  'test/kafka/basics.test.ts',
  'test/kafka/gateway-process.test.ts',
  'test/kafka/groups.test.ts',
  'test/kafka/hot-partition.test.ts',
  'test/kafka/kafka-python.test.ts',
  'test/kafka/kafkajs.test.ts',
  'test/kafka/kcat.test.ts',
  'test/kafka/sasl.test.ts',
  'test/kafka/server.test.ts',
  'test/local/iam-check.test.ts',
  'test/local/layout.test.ts',
  'test/local/localstack.test.ts',
  'test/local/start.test.ts',
  'test/local/warm-up.test.ts',
  'test/log/chunk-append.test.ts',
  'test/log/compaction.test.ts',
  'test/log/concurrency.test.ts',
  'test/log/exactly-once.test.ts',
  'test/log/deleted-topics.test.ts',
  'test/log/idempotency-scope.test.ts',
  'test/log/idempotency-lookup.test.ts',
  'test/log/long-poll-heads.test.ts',
  'test/log/produce-fetch.test.ts',
  'test/log/record-limits.test.ts',
  'test/log/retention-chain.test.ts',
  'test/log/retention-races.test.ts',
  'test/log/retention.test.ts',
  'test/log/throttling.test.ts',
  'test/log/time-lookups.test.ts',
  'test/log/topic-config.test.ts',
  'test/log/topics.test.ts',
  'test/log/fences.test.ts',
  'test/triggers/chaos.test.ts',
  'test/triggers/cli.test.ts',
  'test/triggers/delivery.test.ts',
  'test/triggers/failures.test.ts',
  'test/triggers/lambda-server.test.ts',
  'test/triggers/payload.test.ts',
];

export const infraTests = ['test/infra/**/*.test.ts'];

export const allTests = ['test/**/*.test.ts'];

export default defineConfig({
  test: {
    // Each file runs in its own process with its own tables; two at a time fits a 2-core machine.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: {
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: allTests, exclude: [...integrationTests, ...infraTests] },
      },
      {
        extends: true,
        test: { name: 'infra', include: infraTests },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: integrationTests,
          globalSetup: ['test/support/global-setup.ts'],
          // The IAM check of every handler's SDK calls against the synthesized policies.
          setupFiles: ['test/support/iam-setup.ts'],
        },
      },
    ],
  },
});
