/**
 * `logway dev` inside a clone of the repository: starts the local runtime (infra/local/runtime.ts)
 * and keeps it running until SIGINT/SIGTERM. The published package replaces this module with
 * dev-runtime.published.ts (see client/build.ts).
 */
import { startLocalRuntime } from '../infra/local/runtime';

export async function runDev(options: { port: number; dataDir: string }): Promise<void> {
  const startedAt = Date.now();
  const runtime = await startLocalRuntime({ port: options.port, dataDir: options.dataDir });
  console.log(`Logway is running at ${runtime.url} (started in ${Date.now() - startedAt} ms)`);
  console.log(`  data folder: ${runtime.dataDir}`);
  console.log(`  try:         logway --url ${runtime.url} topics list`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`\n${signal}: stopping Logway...`);
      void runtime.stop().then(resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
