/**
 * The `logway` CLI, run as a child process (the repository's bin, cli/logway.mjs) against this
 * file's local service: topics, produce from stdin, consume, groups with the lag table, and errors.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../infra/project';
import { startTestService, type TestService } from '../support/local-service';

const bin = join(repoRoot, 'cli', 'logway.mjs');

let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});

afterAll(async () => {
  await service?.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `logway <args>` with LOGWAY_URL pointing at the test service, feeding `input` to stdin. */
function logway(args: string[], input?: string, env: Record<string, string> = {}, command: string[] = [bin]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOGWAY_URL: service.url, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

describe('topics', () => {
  it('creates, lists and describes topics', async () => {
    const created = await logway(['topics', 'create', 'user-events', '--partitions', '3', '-c', 'retention.ms=86400000']);
    expect(created).toMatchObject({ code: 0, stdout: 'Created topic user-events with 3 partitions.\n' });
    await logway(['topics', 'create', 'audit']);

    const list = await logway(['topics', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n').filter(Boolean).sort()).toEqual(['audit', 'user-events']);

    const described = await logway(['topics', 'describe', 'user-events']);
    expect(described.code).toBe(0);
    const lines = described.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Topic: user-events\tTopicId: [0-9a-f-]{36}\tPartitionCount: 3\tConfigs: .*retention\.ms=86400000/);
    expect(lines.slice(1)).toEqual([0, 1, 2].map((p) => `\tTopic: user-events\tPartition: ${p}\tLogStartOffset: 0\tHighWatermark: 0`));

    const altered = await logway(['topics', 'alter', 'audit', '-p', '2']);
    expect(altered).toMatchObject({ code: 0, stdout: 'Altered topic audit: 2 partitions.\n' });
    expect(await logway(['topics', 'delete', 'audit'])).toMatchObject({ code: 0, stdout: 'Deleted topic audit.\n' });
  });
});

describe('produce and consume', () => {
  it('produces lines from stdin with -K: and reads them back from the beginning', async () => {
    await logway(['topics', 'create', 'orders', '-p', '3']);
    const input = ['alice:{"item":"book"}', 'bob:{"item":"pen"}', 'alice:{"item":"lamp"}', 'carol:tea: green', ''].join('\n');
    const produced = await logway(['produce', 'orders', '-K:'], input);
    expect(produced.code).toBe(0);
    expect(produced.stderr).toMatch(/^Produced 4 records to orders \(partitions? [\d, ]+\)\.\n$/);

    const consumed = await logway(['consume', 'orders', '--from-beginning', '-c', '4', '--format', '%k=%v']);
    expect(consumed.code).toBe(0);
    const lines = consumed.stdout.trimEnd().split('\n');
    expect([...lines].sort()).toEqual(['alice={"item":"book"}', 'alice={"item":"lamp"}', 'bob={"item":"pen"}', 'carol=tea: green']);
    // One key's records keep their order.
    expect(lines.filter((l) => l.startsWith('alice='))).toEqual(['alice={"item":"book"}', 'alice={"item":"lamp"}']);
    expect(consumed.stderr).toBe('Processed a total of 4 messages\n');

    // The default output is the value, one per line (kafka-console-consumer).
    const plain = await logway(['consume', 'orders', '--from-beginning', '-e']);
    expect(plain.stdout.trimEnd().split('\n').sort()).toEqual(['tea: green', '{"item":"book"}', '{"item":"lamp"}', '{"item":"pen"}']);
  });

  it('round-trips JSON lines with headers and explicit partitions', async () => {
    await logway(['topics', 'create', 'json-lines', '-p', '2']);
    const input = [
      JSON.stringify({ key: 'k1', value: { n: 1 }, headers: { trace: 't1' }, partition: 1 }),
      JSON.stringify({ key: null, value: 'plain', partition: 0 }),
    ].join('\n');
    expect((await logway(['produce', 'json-lines', '--json', '-q'], input)).code).toBe(0);
    const consumed = await logway(['consume', 'json-lines', '--from-beginning', '-e', '--json', '-q']);
    const records = consumed.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .sort((a, b) => Number(a.partition) - Number(b.partition));
    expect(records).toMatchObject([
      { topic: 'json-lines', partition: 0, offset: 0, key: null, value: 'plain', headers: [] },
      { topic: 'json-lines', partition: 1, offset: 0, key: 'k1', value: '{"n":1}', headers: [{ key: 'trace', value: 't1' }] },
    ]);
  });

  it('consumes as a group member and shows the lag table', async () => {
    await logway(['topics', 'create', 'clicks', '-p', '2']);
    const lines = Array.from({ length: 10 }, (_, i) => `${i % 2 === 0 ? 'even' : 'odd'}:click-${i}`).join('\n');
    await logway(['produce', 'clicks', '-K:', '-q'], lines);

    const consumed = await logway(['consume', 'clicks', '-g', 'dashboard', '--from-beginning', '-c', '10']);
    expect(consumed.code).toBe(0);
    expect(consumed.stdout.trimEnd().split('\n').sort()).toEqual(Array.from({ length: 10 }, (_, i) => `click-${i}`).sort());

    await logway(['produce', 'clicks', '-K:', '-q'], 'even:late-1\nodd:late-2\nodd:late-3\n');
    const described = await logway(['groups', 'describe', 'dashboard']);
    expect(described.code).toBe(0);
    const [notice, blank, header, ...rows] = described.stdout.trimEnd().split('\n');
    expect(notice).toBe("Consumer group 'dashboard' has no active members.");
    expect(blank).toBe('');
    expect(header!.split(/\s{2,}/)).toEqual(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID']);
    const table = rows.map((r) => r.split(/\s+/));
    // Committed offsets are where consumption stopped; the late records are the lag.
    const lag = table.map(([group, topic, partition, current, end, lagValue, member]) => {
      expect([group, topic, member]).toEqual(['dashboard', 'clicks', '-']);
      expect(Number(end) - Number(current)).toBe(Number(lagValue));
      return { partition: Number(partition), lag: Number(lagValue) };
    });
    expect(lag.map((l) => l.partition)).toEqual([0, 1]);
    expect(lag.reduce((n, l) => n + l.lag, 0)).toBe(3);

    const list = await logway(['groups', 'list']);
    expect(list.stdout).toMatch(/^GROUP\s+STATE\s+MEMBERS\n(.*\n)*dashboard\s+Empty\s+0\n/);

    const reset = await logway(['groups', 'reset-offsets', 'dashboard', '--topic', 'clicks', '--to-earliest']);
    expect(reset.code).toBe(0);
    expect(
      reset.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)),
    ).toEqual([
      ['dashboard', 'clicks', '0', '0'],
      ['dashboard', 'clicks', '1', '0'],
    ]);
    expect(await logway(['groups', 'delete', 'dashboard'])).toMatchObject({ code: 0, stdout: "Deleted consumer group 'dashboard'.\n" });
  });
});

describe('errors', () => {
  it("prints the server's code and message on stderr and exits non-zero", async () => {
    const consume = await logway(['consume', 'no-such-topic', '--from-beginning', '-c', '1']);
    expect(consume.code).toBe(1);
    expect(consume.stdout).toBe('');
    expect(consume.stderr).toBe("Error [UNKNOWN_TOPIC_OR_PARTITION]: Topic 'no-such-topic' does not exist.\n");

    const produce = await logway(['produce', 'no-such-topic'], 'x\n');
    expect(produce.code).toBe(1);
    expect(produce.stderr).toContain('Error [UNKNOWN_TOPIC_OR_PARTITION]');

    await logway(['topics', 'create', 'twice']);
    const again = await logway(['topics', 'create', 'twice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^Error \[TOPIC_ALREADY_EXISTS\]: /);

    const bad = await logway(['topics', 'create', 'bad name!']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^Error \[INVALID_TOPIC_EXCEPTION\]: /);

    const unreachable = await logway(['topics', 'list'], undefined, { LOGWAY_URL: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/^Error \[NETWORK_ERROR\]: /);
  });
});
