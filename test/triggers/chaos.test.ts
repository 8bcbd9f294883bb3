/**
 * Dispatchers that die and race: a dispatcher process killed mid-batch (SIGKILL, holding its
 * lease) is replaced by others once its lease expires; every record is delivered at least once,
 * in offset order per partition, and no partition ever has two invocations in flight.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWork } from '../../shared/triggers/work';
import { useTestService } from '../support/local-service';
import { eventually, startInvokeEndpoint, type InvokeEndpoint } from './support';

const { http } = useTestService();
let lambda: InvokeEndpoint;
beforeAll(async () => {
  lambda = await startInvokeEndpoint();
});
afterAll(async () => {
  await lambda?.stop();
});

/** First deliveries in order, and what came again (at least once allows repeats of a batch, never a gap or a reordering). */
function checkOrder(offsets: number[], count: number): void {
  const seen = new Set<number>();
  const firsts: number[] = [];
  for (const offset of offsets) {
    if (!seen.has(offset)) firsts.push(offset);
    seen.add(offset);
  }
  expect(firsts).toEqual(Array.from({ length: count }, (_, i) => i));
}

describe('dispatcher failures', () => {
  it('a dispatcher killed mid-batch: another resumes after its lease, nothing is lost, never two at once', async () => {
    await http.post('/v1/topics', { name: 'chaos', partitions: 2 });
    expect(
      (
        await http.call('PUT', '/v1/triggers/chaos', {
          topic: 'chaos',
          functionName: 'chaos-fn',
          startingPosition: 'TRIM_HORIZON',
          batchSize: 5,
        })
      ).status,
    ).toBe(201);
    // Two producers at once, one per partition, 40 records each.
    await Promise.all(
      [0, 1].map(async (partition) => {
        for (let i = 0; i < 4; i++) {
          const response = await http.post('/v1/topics/chaos/records', {
            records: Array.from({ length: 10 }, (_, j) => ({ value: `p${partition}-${i * 10 + j}`, partition })),
          });
          expect(response.status).toBe(200);
        }
      }),
    );
    lambda.answer = () => ({ kind: 'ok', payload: null, delayMs: 300 });

    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'dispatcher-child.ts'), 'chaos', '0'], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    // Kill it while its third batch is in flight.
    await eventually(
      () => lambda.invocations.filter((i) => i.event.records['chaos-0']).length >= 3,
      20_000,
      `the child's third batch (${output})`,
    );
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => child.once('exit', resolve));

    // Two dispatchers race for both partitions until everything is delivered.
    const deliverAll = async (id: string) => {
      for (let round = 0; round < 200; round++) {
        await runWork(
          [
            { trigger: 'chaos', partition: 0 },
            { trigger: 'chaos', partition: 1 },
          ],
          { deadline: Date.now() + 5_000, dispatcherId: id, invokeTimeoutMs: 2_000, leaseMarginMs: 500 },
        );
        const status = (await http.get('/v1/triggers/chaos')).body;
        if (status.partitions.every((p: { lag: number }) => p.lag === 0)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('not caught up');
    };
    await Promise.all([deliverAll('a'), deliverAll('b')]);

    for (const partition of [0, 1]) {
      const offsets = lambda.offsets(`chaos-${partition}`);
      checkOrder(offsets, 40);
      expect(lambda.maxInFlight(`chaos-${partition}`), `partition ${partition}`).toBe(1);
    }
    // The batch in flight at the kill was delivered again, after the child's lease expired.
    const zero = lambda.invocations.filter((i) => i.event.records['chaos-0']);
    const third = zero[2]!.event.records['chaos-0']!.map((r) => r.offset);
    const again = zero.slice(3).find((i) => i.event.records['chaos-0']![0]!.offset === third[0]);
    expect(again, 'the killed batch is redelivered').toBeDefined();
    expect(again!.startedAt - killedAt).toBeGreaterThan(1_500);
  }, 60_000);
});
