/**
 * `npm start`: Logway on this machine. PORT (default 8080), KAFKA_PORT (default 9092, 0 turns the
 * Kafka protocol listener off) and LOGWAY_DATA_DIR (default .logway/) choose where it listens and
 * keeps its data; LOGWAY_WARMUP_MS (default 10000, 0: none) bounds the warm-up (producing through a
 * scratch copy of the service) before the first request, LOGWAY_FSYNC=1 keeps its fsyncs (docs/local-runtime.md). SIGINT or
 * SIGTERM stops everything it started.
 */
import { startLocalRuntime } from './runtime';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  const dataDir = process.env.LOGWAY_DATA_DIR ?? '.logway';
  const startedAt = Date.now();
  const kafkaPort = Number(process.env.KAFKA_PORT ?? 9092);
  // How long the embedded DynamoDB Local is warmed before the first request (0: not at all).
  const warmUpMs = Number(process.env.LOGWAY_WARMUP_MS ?? 10_000);
  // The IAM check (docs/local-runtime.md) loads while the emulators start. It lives with the test
  // support code and its dev dependencies (CDK, the AGPL IAM simulator), never in a Lambda bundle.
  const iamCheck =
    process.env.LOGWAY_IAM_CHECK === '0'
      ? Promise.resolve(undefined)
      : import('../../test/support/iam-local').then((module) => module.installLocalIamCheck());
  const [started, checked] = await Promise.allSettled([
    startLocalRuntime({ port, dataDir, kafkaPort, preloadHandlers: true, warmUpMs }),
    iamCheck,
  ]);
  if (started.status === 'rejected') throw started.reason;
  const runtime = started.value;
  if (checked.status === 'rejected') {
    await runtime.stop();
    throw checked.reason;
  }
  const iam = checked.value;
  const emulated = runtime.emulators.started.length
    ? `embedded ${runtime.emulators.started.join(' and ')} emulator(s)`
    : 'endpoints from AWS_ENDPOINT_URL';
  const warmed = runtime.warmUp ? `, ${runtime.warmUp.ms} of them warming up with ${runtime.warmUp.appends} produce requests` : '';
  console.log(`Logway is running at ${runtime.url} (started in ${Date.now() - startedAt} ms${warmed})`);
  console.log(`  data folder: ${runtime.dataDir}`);
  console.log(`  storage:     ${emulated} (DynamoDB ${runtime.emulators.endpoints.dynamodb}, S3 ${runtime.emulators.endpoints.s3})`);
  if (runtime.emulators.started.includes('dynamodb')) {
    console.log(
      runtime.emulators.dynamoDbSkipsFsync
        ? '  disk writes: DynamoDB Local without fsync (eatmydata: to the page cache, as a Kafka broker writes; LOGWAY_FSYNC=1 keeps fsync)'
        : process.platform === 'linux' && process.env.LOGWAY_FSYNC !== '1'
          ? '  disk writes: DynamoDB Local with fsync (apt-get install eatmydata makes hot-partition appends ~1.3x faster: docs/local-runtime.md)'
          : '  disk writes: DynamoDB Local with fsync',
    );
  }
  if (runtime.kafka) {
    const auth = runtime.kafka.sasl ? 'SASL_PLAINTEXT with SCRAM-SHA-256/512 (KAFKA_SASL_USERS)' : 'no authentication';
    console.log(`  kafka:       ${runtime.kafka.host}:${runtime.kafka.port} (bootstrap.servers for Kafka clients; ${auth})`);
  }
  if (runtime.lambdaEndpoint) {
    const served = !runtime.lambdaServedLocally
      ? 'AWS_ENDPOINT_URL_LAMBDA'
      : process.env.LOGWAY_FUNCTIONS
        ? `local functions ${process.env.LOGWAY_FUNCTIONS}`
        : 'no local functions: set LOGWAY_FUNCTIONS=name=path/to/module.ts';
    console.log(`  triggers:    invoke functions at ${runtime.lambdaEndpoint} (${served})`);
  }
  console.log(
    iam
      ? `  IAM check:   every SDK call a handler makes, against its function's synthesized policy (${iam.synthesizedMs ? `synthesized in ${iam.synthesizedMs} ms` : 'cached'}; LOGWAY_IAM_CHECK=0 turns it off)`
      : '  IAM check:   off (LOGWAY_IAM_CHECK=0)',
  );
  console.log(`  try:         curl ${runtime.url}/v1/health`);
  console.log(`  console:     ${runtime.url}/console/`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Logway...`);
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  // A wrapper (npm, a shell) that is killed may not pass the signal on; when this process is
  // orphaned, stop too, so DynamoDB Local's Java process is never left behind.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop('parent exited');
  }, 500).unref();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
