/**
 * A test file's Logway with the Kafka listener beside HTTP: its own tables and bucket in the shared
 * emulators, the HTTP gateway and the Kafka protocol server on free ports, both calling the core
 * in-process. Also the system clients the suite drives (kcat, kafka-python), which must be
 * installed: a missing one fails with the apt-get line that installs it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { Kafka, logLevel } from 'kafkajs';
import type { SaslOptions } from '../../shared/kafka/sasl';
import { startKafkaServer, type RunningKafkaServer } from '../../shared/kafka/server';
import { api, type Api } from '../support/http';
import { startTestService, type TestService } from '../support/local-service';

export interface KafkaTestService {
  readonly http: Api;
  readonly bootstrap: () => string;
  readonly kafka: () => Kafka;
}

/**
 * `advertisedPort`: a port to advertise instead of the listener's (a fault-injecting proxy in front of it).
 * `sasl`: the listener requires SASL/SCRAM with these users.
 * `appendsPerPartition`: the listener's chunk writes per partition at a time, its group commit (its default otherwise).
 */
export function useKafkaService(
  options: { advertisedPort?: () => Promise<number>; sasl?: SaslOptions; appendsPerPartition?: number } = {},
): KafkaTestService & { port: () => number } {
  let service: TestService | undefined;
  let kafka: RunningKafkaServer | undefined;
  beforeAll(async () => {
    service = await startTestService();
    const advertisedPort = options.advertisedPort ? await options.advertisedPort() : undefined;
    kafka = await startKafkaServer({
      port: 0,
      log: () => {},
      ...(advertisedPort !== undefined ? { advertisedPort } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
      ...(options.appendsPerPartition !== undefined ? { appendsPerPartition: options.appendsPerPartition } : {}),
    });
  });
  afterAll(async () => {
    await kafka?.stop();
    await service?.stop();
  });
  const bootstrap = () => `127.0.0.1:${kafka!.port}`;
  return {
    http: api(() => service!.url),
    port: () => kafka!.port,
    bootstrap,
    kafka: () =>
      new Kafka({
        clientId: 'logway-test',
        brokers: [bootstrap()],
        logLevel: logLevel.NOTHING,
        retry: { retries: 5, initialRetryTime: 100 },
      }),
  };
}

export const kcatPath = '/usr/bin/kcat';
export const pythonPath = '/usr/bin/python3';

export function requireKcat(): void {
  if (!existsSync(kcatPath)) throw new Error('kcat is not installed: sudo apt-get install -y kcat');
}

export function requireKafkaPython(): void {
  const probe = existsSync(pythonPath) ? spawnSync(pythonPath, ['-c', 'import kafka'], { encoding: 'utf8' }) : undefined;
  if (probe?.status !== 0) throw new Error('kafka-python is not installed: sudo apt-get install -y python3-kafka');
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a command to completion (async, so the in-process servers keep serving it). `stopAfterMs`:
 * send SIGINT then (a client's clean shutdown: kcat commits and leaves its group).
 */
export function run(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number; stopAfterMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    const stopper = options.stopAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), options.stopAfterMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (stopper) clearTimeout(stopper);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
