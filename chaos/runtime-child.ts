/**
 * The runtime under test, as its own process so the nemesis can SIGKILL it mid-request: the
 * real local runtime (infra/local/runtime.ts) on PORT, against the endpoints in
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 (the harness's fault proxies; it starts no
 * emulators then). Its scheduler runs the retention and trigger sweeps at LOGWAY_SCHEDULE_RATE_MS
 * (the harness sets about a second, not their cloud rates of minutes). SIGUSR2 stops the
 * retention sweeps (before the final reads); the trigger sweep goes on, so delivery catches up.
 * Triggers are delivered with the dispatcher settings of CHAOS_TRIGGER_INVOKE_TIMEOUT_MS and
 * CHAOS_TRIGGER_LEASE_MARGIN_MS, so a lease left by a SIGKILLed runtime expires within seconds,
 * by CHAOS_TRIGGER_DISPATCHERS independent dispatchers (each its own stream poller and runs, as two
 * Lambda invocations would be), so that only the leases keep them from delivering one partition
 * at once.
 */
import { startLocalTriggers, type LocalTriggersOptions } from '../infra/local/lambda-dispatcher';
import { startLocalRuntime } from '../infra/local/runtime';

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
  const triggerOptions = (id: number): LocalTriggersOptions => ({
    dispatch: {
      invokeTimeoutMs: number('CHAOS_TRIGGER_INVOKE_TIMEOUT_MS', 5000),
      leaseMarginMs: number('CHAOS_TRIGGER_LEASE_MARGIN_MS', 1000),
      dispatcherId: `chaos-dispatcher-${process.pid}-${id}`,
    },
  });
  const runtime = await startLocalRuntime({
    port,
    resourcePrefix: process.env.CHAOS_PREFIX ?? 'chaos',
    // The Kafka listener on a fixed port, so Kafka clients find it again after a restart.
    kafkaPort: number('CHAOS_KAFKA_PORT', 0),
    triggerOptions: triggerOptions(0),
  });
  const more = Array.from({ length: Math.max(0, number('CHAOS_TRIGGER_DISPATCHERS', 1) - 1) }, (_, i) =>
    startLocalTriggers(triggerOptions(i + 1)),
  );
  process.on('SIGUSR2', () => {
    runtime.scheduler?.stop(['retention-sweep']);
    console.log('SWEEPS STOPPED');
  });
  const stop = async () => {
    await Promise.all(more.map((dispatcher) => dispatcher.stop()));
    await runtime.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 500).unref();
  console.log(`READY ${runtime.url}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
