/**
 * The whole local service in one process: emulators (unless AWS_ENDPOINT_URL names others),
 * tables and bucket, and the gateway calling the Lambda handlers in-process.
 */
// First: it sets the handlers' environment before any module that reads it is evaluated.
import './process-env';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { resetAwsClients } from '../../shared/runtime/aws';
import { bootstrapLocalResources, checkDataFolderMarker } from './bootstrap';
import { startEmulators, type RunningEmulators } from './emulators';
import { importHandler, startGateway, type HandlerLoader, type RunningGateway } from './gateway';
import { routes } from '../../shared/http/routes';
import {
  startLocalLambda,
  startLocalTriggers,
  type LocalLambda,
  type LocalTriggersOptions,
  type RunningLocalTriggers,
} from './lambda-dispatcher';
import { startScheduler, type RunningScheduler } from './scheduler';
import { warmUpProducePath } from './warm-up';
import { kafkaListenerEnv } from '../../shared/kafka/listener-env';
import { startKafkaServer, type RunningKafkaServer } from '../../shared/kafka/server';

export interface LocalRuntimeOptions {
  port?: number;
  /**
   * Data folder; data persists there across restarts. Absent: nothing persists (DynamoDB Local
   * runs in memory, s3rver writes to a temporary folder that stop() removes).
   */
  dataDir?: string;
  /** Prefix of table and bucket names. */
  resourcePrefix?: string;
  /** How the gateway loads a route's handler (e.g. to wrap it). @default importHandler */
  loadHandler?: HandlerLoader;
  /** Run the scheduled functions at their rates (LOGWAY_SCHEDULE_RATE_MS overrides them). @default true */
  scheduler?: boolean;
  /** Port of the Kafka protocol listener on 127.0.0.1; 0 or absent: none (`npm start` asks for 9092). */
  kafkaPort?: number;
  /**
   * Import every route's handler before returning, so that the first requests do not wait for
   * their code to load (each Lambda environment pays that once, at its cold start; `npm start`
   * pays it at start). @default false
   */
  preloadHandlers?: boolean;
  /**
   * Warm up for up to this long before the gateway listens, producing through a scratch copy of
   * the service (infra/local/warm-up.ts); not done when the endpoints came from AWS_ENDPOINT_URL.
   * @default 0
   */
  warmUpMs?: number;
  /** Deliver triggers (wake on appends, invoke functions). @default true */
  triggers?: boolean;
  /** Dispatcher settings (invoke timeout, lease margin), e.g. shorter under the chaos harness. */
  triggerOptions?: LocalTriggersOptions;
}

export interface LocalRuntime {
  readonly url: string;
  /** The data folder, or undefined when nothing persists. */
  readonly dataDir: string | undefined;
  readonly emulators: RunningEmulators;
  readonly gateway: RunningGateway;
  /** The Kafka protocol listener, unless turned off. */
  readonly kafka: RunningKafkaServer | undefined;
  /** Where trigger functions are invoked (AWS_ENDPOINT_URL_LAMBDA, or the local Lambda Invoke API). */
  readonly lambdaEndpoint: string | undefined;
  /** True when that endpoint is this runtime's own Lambda Invoke API (LOGWAY_FUNCTIONS). */
  readonly lambdaServedLocally: boolean;
  /** The scheduled functions, unless turned off. */
  readonly scheduler: RunningScheduler | undefined;
  /** What the warm-up did before the gateway listened (`warmUpMs`), if it ran: produce requests and ms. */
  readonly warmUp: { readonly appends: number; readonly ms: number } | undefined;
  stop(): Promise<void>;
}

export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const dataDir = options.dataDir === undefined ? undefined : resolve(options.dataDir);
  // A folder of another storage layout is refused before anything starts (bootstrap checks its tables too).
  if (dataDir !== undefined) checkDataFolderMarker(dataDir);
  const s3Directory = dataDir === undefined ? mkdtempSync(join(tmpdir(), 'logway-s3-')) : undefined;
  const removeScratch = () => {
    if (s3Directory) rmSync(s3Directory, { recursive: true, force: true });
  };
  const emulators = await startEmulators(dataDir === undefined ? { s3Directory } : { dataDir }).catch((error: unknown) => {
    removeScratch();
    throw error;
  });
  let gateway: RunningGateway | undefined;
  let kafka: RunningKafkaServer | undefined;
  let lambda: LocalLambda | undefined;
  let warmUp: LocalRuntime['warmUp'];
  try {
    const { environment } = await bootstrapLocalResources(emulators.endpoints, options.resourcePrefix ?? 'logway-local', {
      embedded: emulators.started.length > 0,
      // The layout is recorded where the tables are kept: only when DynamoDB Local runs on the folder.
      ...(dataDir !== undefined && emulators.started.includes('dynamodb') ? { dataDir } : {}),
    });
    Object.assign(process.env, environment);
    resetAwsClients();
    // Both before the gateway listens, so that a request that gets an answer gets a warm one.
    const warmUpStarted = Date.now();
    const [, appends] = await Promise.all([
      options.preloadHandlers ? Promise.all(routes.map(options.loadHandler ?? importHandler)) : undefined,
      options.warmUpMs && emulators.started.includes('dynamodb') && emulators.started.includes('s3')
        ? warmUpProducePath(emulators.endpoints, {
            maxMs: options.warmUpMs,
            ...(options.loadHandler ? { loadHandler: options.loadHandler } : {}),
          }).catch((error: unknown) => {
            console.warn(`[logway] warming up failed; the first requests will be slower: ${(error as Error).message}`);
            return undefined;
          })
        : undefined,
    ]);
    if (appends !== undefined) warmUp = { appends, ms: Date.now() - warmUpStarted };
    gateway = await startGateway({ port: options.port ?? 8080, loadHandler: options.loadHandler });
    const kafkaPort = options.kafkaPort ?? 0;
    if (kafkaPort !== 0) kafka = await startKafkaServer({ host: '127.0.0.1', port: kafkaPort, ...kafkaListenerEnv() });
    if (options.triggers !== false) lambda = await startLocalLambda();
  } catch (error) {
    await gateway?.stop();
    await emulators.stop();
    removeScratch();
    throw error;
  }
  const runningGateway = gateway;
  const triggers: RunningLocalTriggers | undefined = options.triggers === false ? undefined : startLocalTriggers(options.triggerOptions);
  const scheduler: RunningScheduler | undefined = options.scheduler === false ? undefined : startScheduler();
  return {
    url: runningGateway.url,
    dataDir,
    emulators,
    gateway: runningGateway,
    kafka,
    lambdaEndpoint: lambda?.endpoint,
    lambdaServedLocally: lambda?.server !== undefined,
    scheduler,
    warmUp,
    async stop() {
      scheduler?.stop();
      await kafka?.stop();
      await triggers?.stop();
      await lambda?.stop();
      await runningGateway.stop();
      resetAwsClients();
      await emulators.stop();
      removeScratch();
    },
  };
}
