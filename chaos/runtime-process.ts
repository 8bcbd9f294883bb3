/**
 * Starts, SIGKILLs and restarts the runtime under test (chaos/runtime-child.ts) as a child
 * process on a fixed port, so clients find it again after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const repoRoot = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');

export interface RuntimeProcessOptions {
  readonly port: number;
  readonly dynamodb: string;
  readonly s3: string;
  readonly prefix: string;
  /** How often the scheduler runs the retention and trigger sweeps (LOGWAY_SCHEDULE_RATE_MS). */
  readonly sweepMs: number;
  /** More environment for the runtime (the trigger function's settings). */
  readonly env?: Readonly<Record<string, string>>;
  /** Output of the child, for the results folder. */
  readonly log: (line: string) => void;
}

export class RuntimeProcess {
  private child: ChildProcess | undefined;
  readonly url: string;

  constructor(private readonly options: RuntimeProcessOptions) {
    this.url = `http://127.0.0.1:${options.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts the child and resolves once it serves requests. */
  start(timeoutMs = 60_000): Promise<void> {
    const { AWS_ENDPOINT_URL: _generic, AWS_PROFILE: _profile, ...inherited } = process.env;
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'chaos', 'runtime-child.ts')], {
      cwd: repoRoot,
      env: {
        ...inherited,
        PORT: String(this.options.port),
        AWS_ENDPOINT_URL_DYNAMODB: this.options.dynamodb,
        AWS_ENDPOINT_URL_S3: this.options.s3,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
        CHAOS_PREFIX: this.options.prefix,
        LOGWAY_SCHEDULE_RATE_MS: String(this.options.sweepMs),
        POWERTOOLS_LOG_LEVEL: 'ERROR',
        POWERTOOLS_METRICS_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...this.options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    return new Promise((resolve, reject) => {
      let buffered = '';
      const timer = setTimeout(
        () => reject(new Error(`the runtime did not start within ${timeoutMs} ms:\n${buffered.slice(-2000)}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        buffered += text;
        for (const line of text.split('\n')) if (line.trim()) this.options.log(line);
        if (buffered.includes('READY ')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        this.options.log(`[harness] runtime exited (code ${code}, signal ${signal})`);
        if (!buffered.includes('READY '))
          reject(new Error(`the runtime exited before it was ready (code ${code}):\n${buffered.slice(-2000)}`));
      });
    });
  }

  /** SIGKILL: no clean-up, requests in flight are cut off. */
  kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** Asks the child to stop its retention sweeps (before the final reads); the trigger sweep goes on. */
  stopSweeps(): void {
    if (this.running) this.child!.kill('SIGUSR2');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
