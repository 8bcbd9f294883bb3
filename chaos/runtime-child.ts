/**
 * The runtime under test, as its own process so the nemesis can SIGKILL it mid-request: the
 * real local runtime (infra/local/runtime.ts) on PORT, against the endpoints in
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_S3 (the harness's fault proxies; it starts no
 * emulators then). The scheduler's retention sweep runs every 5 minutes, too rarely for a
 * run of minutes, so this process runs the same handler (functions/retention-sweep.ts) every
 * CHAOS_SWEEP_MS instead. SIGUSR2 stops the sweeps (before the final reads).
 */
import { startLocalRuntime } from '../infra/local/runtime';

async function main(): Promise<void> {
  const port = Number(process.env.PORT);
  const sweepMs = Number(process.env.CHAOS_SWEEP_MS ?? 1000);
  const runtime = await startLocalRuntime({ port, resourcePrefix: process.env.CHAOS_PREFIX ?? 'chaos', scheduler: false });
  const { handler } = (await import('../functions/retention-sweep')) as { handler: () => Promise<void> };
  let sweeping = true;
  let running = false;
  const timer = setInterval(async () => {
    if (!sweeping || running) return;
    running = true;
    try {
      await handler();
    } catch (error) {
      console.error(`[chaos-runtime] retention sweep failed: ${(error as Error).name}: ${(error as Error).message}`);
    } finally {
      running = false;
    }
  }, sweepMs);
  process.on('SIGUSR2', () => {
    sweeping = false;
    clearInterval(timer);
    console.log('SWEEPS STOPPED');
  });
  const stop = async () => {
    clearInterval(timer);
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
