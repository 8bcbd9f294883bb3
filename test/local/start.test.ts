/**
 * `npm start` as a user runs it: the service answers, warm, with DynamoDB Local's files written
 * without fsync (eatmydata), keeps its data across a restart and a SIGKILL, prints no metrics, and
 * SIGTERM stops every process it started, DynamoDB Local's Java included.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eatMyDataLibrary } from '../../infra/local/emulators';
import { freePort, spawnNpmStart } from '../../infra/local/processes';
import { apiVersions, metadata } from '../../shared/kafka/schema';
import { RawClient } from '../kafka/raw-client';
const dataDir = mkdtempSync(join(tmpdir(), 'logway-start-'));

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Every descendant of a process, from ps. */
function descendants(pid: number): number[] {
  const table = spawnSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).stdout.trim().split('\n');
  const children = new Map<number, number[]>();
  for (const line of table) {
    const [child, parent] = line.trim().split(/\s+/).map(Number) as [number, number];
    children.set(parent, [...(children.get(parent) ?? []), child]);
  }
  const out: number[] = [];
  const walk = (p: number) =>
    (children.get(p) ?? []).forEach((c) => {
      out.push(c);
      walk(c);
    });
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** What each started process printed so far. */
const outputs = new Map<ChildProcess, () => string>();

async function start(port: number, kafkaPort?: number): Promise<ChildProcess> {
  // The embedded emulators, whatever endpoints this test process was given.
  // A free Kafka port too: the default 9092 may be taken on a shared machine.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KAFKA_PORT: String(kafkaPort ?? (await freePort())),
    LOGWAY_DATA_DIR: dataDir,
  };
  // As a user's shell has it: the test runner's own settings for handlers are not npm start's.
  delete env.POWERTOOLS_METRICS_DISABLED;
  delete env.POWERTOOLS_LOG_LEVEL;
  delete env.LOGWAY_FSYNC;
  const { child, output } = spawnNpmStart(env);
  outputs.set(child, output);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`).catch(() => undefined);
    if (health?.ok) return child;
    if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error(`npm start did not answer /v1/health within 30 s:\n${output()}`);
}

async function stop(child: ChildProcess): Promise<number[]> {
  const started = descendants(child.pid!);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  // Give the OS a moment to reap what the runtime stopped.
  for (let i = 0; i < 50 && started.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
  return started;
}

describe('npm start', () => {
  beforeAll(() => {
    if (!eatMyDataLibrary()) {
      throw new Error(
        'npm start keeps DynamoDB Local on disk without fsync through eatmydata, and these tests check that it loses nothing: sudo apt-get install eatmydata',
      );
    }
  });

  it('answers within 30 s, keeps data across a restart, and leaves no process after SIGTERM', async () => {
    const port = await freePort();
    const kafkaPort = await freePort();
    const first = await start(port, kafkaPort);
    const created = await fetch(`http://127.0.0.1:${port}/v1/topics`, {
      method: 'POST',
      body: JSON.stringify({ name: 'kept', partitions: 2 }),
    });
    expect(created.status).toBe(201);
    const produced = await fetch(`http://127.0.0.1:${port}/v1/topics/kept/records`, {
      method: 'POST',
      body: JSON.stringify({ records: [{ value: 'v' }] }),
    });
    expect(produced.status).toBe(200);
    // The Kafka listener beside HTTP (KAFKA_PORT), advertising itself.
    const kafka = await RawClient.open(kafkaPort);
    expect((await kafka.call(apiVersions, 3, { clientSoftwareName: 'start-test', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    expect((await kafka.call(metadata, 8, { topics: [{ name: 'kept' }] })).brokers).toEqual([
      { nodeId: 0, host: '127.0.0.1', port: kafkaPort, rack: null },
    ]);
    kafka.close();
    const printed = outputs.get(first)!();
    expect(printed).toMatch(/warming up with \d+ produce requests/);
    expect(printed).toContain('DynamoDB Local without fsync');
    // Handlers publish metrics as EMF lines on Lambda; on the terminal they would be one per request.
    expect(printed).not.toContain('"_aws"');
    const firstProcesses = await stop(first);
    expect(firstProcesses.length).toBeGreaterThan(0); // DynamoDB Local's Java, at least
    expect(firstProcesses.filter(alive)).toEqual([]);

    const second = await start(port);
    const topics = (await (await fetch(`http://127.0.0.1:${port}/v1/topics`)).json()) as { topics: { name: string }[] };
    expect(topics.topics.map((t) => t.name)).toContain('kept');
    expect((await stop(second)).filter(alive)).toEqual([]);
  }, 90_000);

  it('after a SIGKILL mid-produce leaves no JVM behind, and a restart serves every acknowledged record once', async () => {
    const apiAt = (port: number) => `http://127.0.0.1:${port}/v1`;
    let port = await freePort();
    let url = apiAt(port);
    const first = await start(port);
    const left = descendants(first.pid!);
    expect((await fetch(`${url}/topics`, { method: 'POST', body: JSON.stringify({ name: 'crash', partitions: 1 }) })).status).toBe(201);
    const acked = new Map<string, number>();
    const send = async (key: string, timeoutMs = 5000) => {
      const response = await fetch(`${url}/topics/crash/records`, {
        method: 'POST',
        headers: { 'idempotency-key': key },
        body: JSON.stringify({ records: [{ value: key }] }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const body = (await response.json()) as { offsets: { offset: number }[]; error?: { code: string } };
      if (response.ok) acked.set(key, body.offsets[0]!.offset);
      return { status: response.status, code: body.error?.code };
    };
    let i = 0;
    let killed = false;
    const producing = (async () => {
      for (; !killed && i < 10_000; i++) await send(`k${i}`).catch(() => undefined);
    })();
    while (acked.size < 20) await new Promise((r) => setTimeout(r, 20));
    first.kill('SIGKILL');
    killed = true;
    await producing.catch(() => undefined);
    // The JVM follows its parent within the reaper's grace period.
    for (let n = 0; n < 60 && left.some(alive); n++) await new Promise((r) => setTimeout(r, 100));
    expect(left.filter(alive)).toEqual([]);

    // A fresh port: the killed server's may not be free yet, and the data directory is what carries over.
    port = await freePort();
    url = apiAt(port);
    const second = await start(port);
    const sent = i;
    // Retrying every key once more: acknowledged ones replay their offsets; the one in flight at the
    // kill lands at most once. Its claim may outlive the killed attempt: then its retry waits briefly
    // and answers 409, retriable, until the claim's lease ends (docs/storage.md).
    for (let k = 0; k <= sent; k++) {
      const key = `k${k}`;
      const before = acked.get(key);
      acked.delete(key);
      const answer = await send(key, 15_000);
      if (before !== undefined) expect(answer.status, key).toBe(200);
      if (before !== undefined) expect(acked.get(key), key).toBe(before);
      else expect([200, 409], key).toContain(answer.status);
      if (answer.status === 409) expect(answer.code).toBe('CONCURRENT_TRANSACTIONS');
    }
    const fetched = (await (await fetch(`${url}/topics/crash/partitions/0/records?offset=0&maxRecords=100000`)).json()) as {
      records: { offset: number; value: string }[];
    };
    const values = fetched.records.map((r) => r.value);
    expect(new Set(values).size).toBe(values.length);
    expect(fetched.records.map((r) => r.offset)).toEqual(values.map((_, n) => n));
    expect((await stop(second)).filter(alive)).toEqual([]);
  }, 90_000);
});
