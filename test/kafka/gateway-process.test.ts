/**
 * The container's process: infra/kafka-gateway/main.ts bundled as the image bundles it, run with
 * the environment the ECS task definition gives it (tables, advertised address, users), here
 * against the emulators. kcat authenticates with a user minted by `npm run kafka-user`, sees the
 * advertised name as the single broker, and produces and consumes through it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleKafkaGateway } from '../../infra/kafka-gateway/bundle';
import { repoRoot } from '../../infra/project';
import { useTestResources } from '../support/local-service';
import { kcatPath, requireKcat, run } from './support';

const dir = mkdtempSync(join(tmpdir(), 'logway-kafka-gateway-'));
const usersFile = join(dir, 'users.json');
let child: ChildProcess | undefined;
let port = 0;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

function startGateway(env: Record<string, string>): Promise<{ process: ChildProcess; output: () => string }> {
  const proc = spawn(process.execPath, [join(dir, 'bundle', 'main.mjs')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start:\n${output}`)), 15_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (output.includes('"listening"')) {
        clearTimeout(timer);
        resolve({ process: proc, output: () => output });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.on('exit', () => {
      clearTimeout(timer);
      resolve({ process: proc, output: () => output });
    });
  });
}

beforeAll(async () => {
  requireKcat();
  await useTestResources();
  bundleKafkaGateway(join(dir, 'bundle'));
  const minted = await run(
    'npx',
    ['tsx', join(repoRoot, 'infra/kafka-gateway/kafka-user.ts'), 'add', 'svc', '--topic', 'events:admin', '--file', usersFile],
    {
      input: 'svc-password\n',
    },
  );
  expect(minted.code, minted.stderr).toBe(0);
  port = await freePort();
  const started = await startGateway({
    KAFKA_PORT: String(port),
    KAFKA_HOST: '127.0.0.1',
    KAFKA_ADVERTISED_HOST: 'localhost',
    KAFKA_ADVERTISED_PORT: String(port),
    KAFKA_SASL_USERS: usersFile,
  });
  child = started.process;
  expect(child.exitCode, started.output()).toBeNull();
}, 60_000);

afterAll(() => {
  child?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

const sasl = (password: string) => [
  '-X',
  'security.protocol=SASL_PLAINTEXT',
  '-X',
  'sasl.mechanisms=SCRAM-SHA-512',
  '-X',
  'sasl.username=svc',
  '-X',
  `sasl.password=${password}`,
];

describe('the Kafka gateway process (container entrypoint)', () => {
  it('advertises KAFKA_ADVERTISED_HOST:PORT as the single broker, and serves a user minted by kafka-user', async () => {
    const admin = await run(kcatPath, ['-b', `127.0.0.1:${port}`, ...sasl('svc-password'), '-L', '-J', '-m', '5']);
    expect(admin.code, admin.stderr).toBe(0);
    expect(JSON.parse(admin.stdout).brokers).toEqual([expect.objectContaining({ id: 0, name: `localhost:${port}` })]);
  });

  it('produces and consumes through the advertised name; a wrong password is refused', async () => {
    // The topic is created through the gateway itself (CreateTopics), as the admin grant allows.
    const py = `from kafka.admin import KafkaAdminClient, NewTopic
a = KafkaAdminClient(bootstrap_servers='127.0.0.1:${port}', security_protocol='SASL_PLAINTEXT', sasl_mechanism='SCRAM-SHA-512', sasl_plain_username='svc', sasl_plain_password='svc-password')
a.create_topics([NewTopic('events', 1, 1)])`;
    const created = await run('/usr/bin/python3', ['-c', py]);
    expect(created.code, created.stderr).toBe(0);
    const produced = await run(kcatPath, ['-b', `localhost:${port}`, ...sasl('svc-password'), '-P', '-t', 'events', '-p', '0'], {
      input: 'one\ntwo\n',
    });
    expect(produced.code, produced.stderr).toBe(0);
    const read = await run(kcatPath, [
      '-b',
      `localhost:${port}`,
      ...sasl('svc-password'),
      '-C',
      '-t',
      'events',
      '-p',
      '0',
      '-o',
      'beginning',
      '-e',
      '-q',
    ]);
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.split('\n').filter(Boolean)).toEqual(['one', 'two']);
    const refused = await run(kcatPath, ['-b', `127.0.0.1:${port}`, ...sasl('wrong'), '-L', '-m', '3']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Authentication failed/);
  });

  it('refuses to start without users unless KAFKA_ALLOW_ANONYMOUS=true', async () => {
    const { process: proc, output } = await startGateway({
      KAFKA_PORT: String(await freePort()),
      KAFKA_HOST: '127.0.0.1',
      KAFKA_SASL_USERS: '',
    });
    await new Promise((resolve) => (proc.exitCode !== null ? resolve(undefined) : proc.on('exit', resolve)));
    expect(proc.exitCode).toBe(1);
    expect(output()).toContain('Refusing to serve Kafka without authentication');
  });
});
