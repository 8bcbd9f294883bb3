/** `logway triggers ...` as a child process against this file's local service, through the admin client. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/local-service';

const repoRoot = join(import.meta.dirname, '..', '..');
const bin = join(repoRoot, 'cli', 'logway.mjs');
let service: TestService;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service?.stop();
});

function logway(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd: repoRoot,
      env: { ...process.env, LOGWAY_URL: service.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('logway triggers', () => {
  it('creates, lists, describes, disables, resets, enables and deletes a trigger', async () => {
    expect((await logway(['topics', 'create', 'clicks', '--partitions', '2'])).code).toBe(0);
    const created = await logway([
      'triggers',
      'create',
      'clicks-fn',
      '-t',
      'clicks',
      '-f',
      'count-clicks',
      '--batch-size',
      '50',
      '--starting-position',
      'TRIM_HORIZON',
      '--report-batch-item-failures',
      '--disabled',
    ]);
    expect(created).toMatchObject({ code: 0, stdout: "Created trigger 'clicks-fn': clicks -> count-clicks (Disabled).\n" });
    const list = await logway(['triggers', 'list']);
    expect(list.stdout).toMatch(/clicks-fn\s+clicks\s+count-clicks\s+Disabled\s+50/);
    const json = JSON.parse((await logway(['triggers', 'describe', 'clicks-fn', '--json'])).stdout);
    expect(json).toMatchObject({ batchSize: 50, functionResponseTypes: ['ReportBatchItemFailures'], startingPosition: 'TRIM_HORIZON' });
    expect(json.partitions).toHaveLength(2);
    expect((await logway(['triggers', 'describe', 'clicks-fn'])).stdout).toMatch(/PARTITION\s+POSITION\s+LOG-END-OFFSET\s+LAG/);
    const reset = await logway(['triggers', 'reset', 'clicks-fn', '--to-latest', '-p', '1']);
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/clicks-fn\s+1\s+0/);
    const enabled = await logway(['triggers', 'enable', 'clicks-fn']);
    expect(enabled.stdout, enabled.stderr).toBe("Trigger 'clicks-fn' enabled.\n");
    const refused = await logway(['triggers', 'reset', 'clicks-fn', '--to-earliest']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/TRIGGER_ENABLED/);
    // Enabling kept the rest of the definition.
    expect(JSON.parse((await logway(['triggers', 'describe', 'clicks-fn', '--json'])).stdout)).toMatchObject({
      batchSize: 50,
      state: 'Enabled',
    });
    expect((await logway(['triggers', 'delete', 'clicks-fn'])).stdout).toBe("Deleted trigger 'clicks-fn'.\n");
    const gone = await logway(['triggers', 'describe', 'clicks-fn']);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toMatch(/UNKNOWN_TRIGGER/);
  });
});
