/**
 * The whole local service in one process: emulators (unless AWS_ENDPOINT_URL names others),
 * tables and bucket, and the gateway calling the Lambda handlers in-process.
 */
import { resolve } from 'node:path';
import { resetAwsClients } from '../../shared/runtime/aws';
import { bootstrapLocalResources } from './bootstrap';
import { startEmulators, type RunningEmulators } from './emulators';
import { startGateway, type RunningGateway } from './gateway';
import { startScheduler } from './scheduler';

export interface LocalRuntimeOptions {
  port?: number;
  /** Data folder; data persists there across restarts. */
  dataDir: string;
  /** Prefix of table and bucket names. */
  resourcePrefix?: string;
}

export interface LocalRuntime {
  readonly url: string;
  readonly dataDir: string;
  readonly emulators: RunningEmulators;
  readonly gateway: RunningGateway;
  stop(): Promise<void>;
}

export async function startLocalRuntime(options: LocalRuntimeOptions): Promise<LocalRuntime> {
  const dataDir = resolve(options.dataDir);
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  // Node 20 is supported here; the SDK's notice about its future Node 22 floor is noise locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const emulators = await startEmulators({ dataDir });
  let gateway: RunningGateway | undefined;
  try {
    const { environment } = await bootstrapLocalResources(emulators.endpoints, options.resourcePrefix ?? 'logway-local', {
      embedded: emulators.started.length > 0,
    });
    Object.assign(process.env, environment);
    resetAwsClients();
    gateway = await startGateway({ port: options.port ?? 8080 });
  } catch (error) {
    await emulators.stop();
    throw error;
  }
  const runningGateway = gateway;
  const scheduler = startScheduler();
  return {
    url: runningGateway.url,
    dataDir,
    emulators,
    gateway: runningGateway,
    async stop() {
      scheduler.stop();
      await runningGateway.stop();
      resetAwsClients();
      await emulators.stop();
    },
  };
}
