/**
 * Delivery of one trigger partition: take its lease, then batch after batch read records from the
 * position, invoke the function, and commit the next position conditioned on the lease, until the
 * partition is caught up, its batch must wait (retry backoff, batching window), or the run's
 * deadline comes (the caller hands the rest on). One batch is in flight per partition, in offset
 * order, and a position moves only after its records were delivered (at least once).
 */
import { log } from '../log/service';
import { randomUUID } from 'node:crypto';
import { isLogwayError } from '../errors';
import { logger } from '../runtime/logger';
import { getTopic } from '../topics/store';
import { buildEvent, fitBatch, maxEventBytes, topicPartitionKey, type DeliverableRecord } from './events';
import { sendToFailureTopic } from './failure';
import { isFunctionAllowed, lambdaInvoker, type Invoker } from './invoke';
import type { TriggerDefinition } from './model';
import { nextStep } from './outcome';
import { readForDelivery } from './reader';
import {
  acquireLease,
  commitState,
  getDefinition,
  newLeaseOwner,
  releaseLease,
  type BlockedRange,
  type Lease,
  type PartitionState,
  type StateChange,
} from './store';

export interface DispatchOptions {
  /** When this run must stop and hand on (ms since the epoch). */
  readonly deadline: number;
  /** Names this dispatcher in lease owners. */
  readonly dispatcherId?: string;
  readonly invoker?: Invoker;
  /** How long one invocation may take before it counts as a timeout. */
  readonly invokeTimeoutMs?: number;
  /** The lease outlives an invocation by this margin. */
  readonly leaseMarginMs?: number;
  readonly bootstrapServers?: string;
  /** Stops the run at the next step (the local runtime's shutdown). */
  readonly signal?: AbortSignal;
  /** The clock record ages are measured with (tests move it forward). @default Date.now */
  readonly ageClock?: () => number;
}

export type DispatchResult =
  /** Caught up: nothing to deliver. */
  | { readonly kind: 'idle' }
  /** Another dispatcher holds the partition. */
  | { readonly kind: 'busy' }
  /** Deadline reached with work left: hand on. */
  | { readonly kind: 'handoff' }
  /** Must wait until `retryAt` (backoff or batching window), or indefinitely (blocked, not allowed). */
  | { readonly kind: 'waiting'; readonly retryAt?: number }
  /** Disabled, deleted, or its topic is gone. */
  | { readonly kind: 'stopped' }
  /** The lease was taken away (a reset, or this run stalled past its expiry). */
  | { readonly kind: 'fenced' };

export const dispatcherDefaults = {
  invokeTimeoutMs: Number(process.env.LOGWAY_TRIGGER_INVOKE_TIMEOUT_MS ?? 120_000),
  leaseMarginMs: 15_000,
  /** Stored bytes read per batch at most: a 6 MB event holds at most ~4.5 MB of base64'd record bytes. */
  readBytes: 8 * 1024 * 1024,
} as const;

const defaultDispatcherId = `dispatcher-${randomUUID().slice(0, 8)}`;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

function errorOf(code: string, message: string, now: number) {
  return { code, message, at: now };
}

/** Delivers one partition of one trigger until caught up, waiting, fenced or out of time. */
export async function dispatchPartition(name: string, partition: number, options: DispatchOptions): Promise<DispatchResult> {
  const invoker = options.invoker ?? lambdaInvoker;
  const invokeTimeoutMs = options.invokeTimeoutMs ?? dispatcherDefaults.invokeTimeoutMs;
  const leaseMs = invokeTimeoutMs + (options.leaseMarginMs ?? dispatcherDefaults.leaseMarginMs);
  const bootstrapServers = options.bootstrapServers ?? process.env.LOGWAY_BOOTSTRAP_SERVERS ?? 'logway';
  const dispatcherId = options.dispatcherId ?? defaultDispatcherId;

  let definition = await getDefinition(name);
  if (!definition?.enabled) return { kind: 'stopped' };
  const topic = await getTopic(definition.topic);
  if (topic?.topicId !== definition.topicId || partition >= topic.partitions) return { kind: 'stopped' };

  const acquired = await acquireLease(definition, partition, newLeaseOwner(dispatcherId), leaseMs);
  if (!acquired) return { kind: 'busy' };
  let lease: Lease = acquired.lease;
  let state: PartitionState = acquired.state;
  let throttles = 0;

  const commit = async (change: StateChange): Promise<boolean> => {
    const next = await commitState(lease, change, leaseMs);
    if (!next) return false;
    state = next;
    lease = { ...lease, expiresAt: next.leaseExpiresAt };
    return true;
  };
  const finish = async (result: DispatchResult): Promise<DispatchResult> => {
    if (result.kind !== 'fenced') await releaseLease(lease);
    return result;
  };

  /** Records from..to go to the failure topic (then delivery moves on), or the partition waits on them. */
  const giveUp = async (def: TriggerDefinition, range: BlockedRange, records?: readonly DeliverableRecord[]): Promise<boolean | 'wait'> => {
    const now = Date.now();
    if (!def.onFailure) {
      const ok = await commit({
        set: {
          position: range.from,
          blocked: range,
          lastError: errorOf(
            range.code,
            `${range.message}. Offsets ${range.from} to ${range.to} are not delivered and the trigger has no onFailure topic, so the partition waits: add onFailure, or disable the trigger and reset its position past them.`,
            now,
          ),
        },
        remove: ['retryAt', 'bisect'],
      });
      return ok ? 'wait' : false;
    }
    let toSend = records?.filter((r) => r.offset >= range.from && r.offset <= range.to);
    if (!toSend || toSend.length === 0 || toSend[0]!.offset !== range.from) {
      const head = await log.readHead(def.topicId, partition);
      toSend = (
        await readForDelivery(
          def.topicId,
          partition,
          range.from,
          Math.min(range.to + 1, head.highWatermark),
          range.to - range.from + 1,
          Number.MAX_SAFE_INTEGER,
        )
      ).records;
    }
    try {
      await sendToFailureTopic(def.onFailure.topic, toSend, {
        trigger: def.name,
        incarnation: def.incarnation,
        topic: def.topic,
        partition,
        error: { code: range.code, message: range.message },
      });
    } catch (error) {
      const reason = isLogwayError(error) ? `${error.code}: ${error.message}` : String((error as Error).message ?? error);
      const ok = await commit({
        set: {
          position: range.from,
          blocked: range,
          retryAt: now + 30_000,
          lastError: errorOf(
            'FAILURE_TOPIC_REJECTED',
            `Offsets ${range.from} to ${range.to} (${range.message}) could not be written to onFailure topic '${def.onFailure.topic}': ${reason}`,
            now,
          ),
        },
      });
      return ok ? 'wait' : false;
    }
    return commit({
      set: {
        position: range.to + 1,
        attempts: 0,
        lastError: errorOf(
          range.code,
          `${range.message}; offsets ${range.from} to ${range.to} were sent to onFailure topic '${def.onFailure.topic}'`,
          now,
        ),
      },
      remove: ['retryAt', 'blocked', 'bisect'],
    });
  };

  try {
    for (;;) {
      if (options.signal?.aborted) return await finish({ kind: 'handoff' });
      const now = Date.now();
      if (now + invokeTimeoutMs > options.deadline) return await finish({ kind: 'handoff' });
      definition = await getDefinition(name);
      if (!definition?.enabled || definition.incarnation !== acquired.state.incarnation) return await finish({ kind: 'stopped' });
      const def: TriggerDefinition = definition;

      if (state.blocked) {
        if (!def.onFailure || (state.retryAt !== undefined && state.retryAt > now))
          return await finish({ kind: 'waiting', ...(state.retryAt ? { retryAt: state.retryAt } : {}) });
        const given = await giveUp(def, state.blocked);
        if (given === false) return { kind: 'fenced' };
        if (given === 'wait') return await finish({ kind: 'waiting', retryAt: state.retryAt });
        continue;
      }
      if (state.retryAt !== undefined && state.retryAt > now) {
        if (state.retryAt + invokeTimeoutMs > options.deadline) return await finish({ kind: 'waiting', retryAt: state.retryAt });
        await sleep(state.retryAt - now, options.signal);
        continue;
      }

      const head = await log.readHead(def.topicId, partition);
      const position = Math.max(state.position, head.logStartOffset);
      if (position >= head.highWatermark) {
        if (position !== state.position && !(await commit({ set: { position } }))) return { kind: 'fenced' };
        await releaseLease(lease);
        // An append that landed while the lease was held found it busy: look once more after releasing.
        const after = await log.readHead(def.topicId, partition);
        if (after.highWatermark > position) {
          const again = await acquireLease(def, partition, newLeaseOwner(dispatcherId), leaseMs);
          if (!again) return { kind: 'busy' };
          lease = again.lease;
          state = again.state;
          continue;
        }
        return { kind: 'idle' };
      }

      const bisecting = state.bisect && position < state.bisect.until ? state.bisect.limit : undefined;
      const limit = Math.min(def.batchSize, bisecting ?? def.batchSize);
      const read = await readForDelivery(def.topicId, partition, position, head.highWatermark, limit, dispatcherDefaults.readBytes);
      if (read.records.length === 0) {
        // Only an offset gap (compaction): step over it.
        if (!(await commit({ set: { position: Math.max(read.nextOffset, position + 1) } }))) return { kind: 'fenced' };
        continue;
      }

      // The batching window: gather up to batchSize records, or until the first has waited the window.
      if (def.maximumBatchingWindowMs > 0 && read.records.length < limit && bisecting === undefined) {
        const ready = read.records[0]!.appendedAt + def.maximumBatchingWindowMs;
        if (ready > now) {
          if (ready + invokeTimeoutMs > options.deadline) return await finish({ kind: 'waiting', retryAt: ready });
          await sleep(Math.min(ready - now, 200), options.signal);
          await commit({});
          continue;
        }
      }

      if (def.maximumRecordAgeMs >= 0) {
        let expired = 0;
        const ageNow = options.ageClock?.() ?? now;
        while (expired < read.records.length && ageNow - read.records[expired]!.appendedAt > def.maximumRecordAgeMs) expired++;
        if (expired > 0) {
          const given = await giveUp(
            def,
            {
              from: read.records[0]!.offset,
              to: read.records[expired - 1]!.offset,
              code: 'RECORD_AGE_EXCEEDED',
              message: `Records older than maximumRecordAgeMs (${def.maximumRecordAgeMs} ms) since their append`,
            },
            read.records,
          );
          if (given === false) return { kind: 'fenced' };
          if (given === 'wait') return await finish({ kind: 'waiting' });
          continue;
        }
      }

      const fitted = fitBatch(def.topic, partition, read.records, bootstrapServers, maxEventBytes);
      if (fitted.records.length === 0) {
        const record = read.records[0]!;
        const given = await giveUp(
          def,
          {
            from: record.offset,
            to: record.offset,
            code: 'RECORD_TOO_LARGE_FOR_INVOKE',
            message: `Offset ${record.offset} alone makes an event larger than Lambda's 6 MB invoke payload (header values travel as JSON arrays of bytes)`,
          },
          read.records,
        );
        if (given === false) return { kind: 'fenced' };
        if (given === 'wait') return await finish({ kind: 'waiting' });
        continue;
      }

      if (!isFunctionAllowed(def.functionName)) {
        const retryAt = now + 30_000;
        const ok = await commit({
          set: {
            retryAt,
            lastError: errorOf(
              'FUNCTION_NOT_ALLOWED',
              `This deployment may not invoke '${def.functionName}': allow it in the stack (the triggerFunctions context list or the function's tag), or point the trigger at an allowed function.`,
              now,
            ),
          },
        });
        return ok ? await finish({ kind: 'waiting', retryAt }) : { kind: 'fenced' };
      }

      // Renew the lease for the whole invocation before making it.
      if (!(await commit({ set: { lastInvokedAt: now } }))) return { kind: 'fenced' };
      const event = buildEvent(def.topic, partition, fitted.records, bootstrapServers);
      const outcome = await invoker.invoke(def.functionName, JSON.stringify(event), invokeTimeoutMs);
      const offsets = fitted.records.map((r) => r.offset);
      const step = nextStep(def, state, { topicPartition: topicPartitionKey(def.topic, partition), offsets }, outcome, throttles);
      const after = Date.now();
      throttles = outcome.kind === 'throttled' ? throttles + 1 : 0;

      if (step.kind === 'advance') {
        const delivered = step.to - position;
        const ok = await commit({
          set: {
            position: step.to,
            attempts: step.attempts,
            deliveredRecords: (state.deliveredRecords ?? 0) + Math.max(0, delivered),
            ...(step.error ? { lastError: errorOf(step.error.code, step.error.message, after) } : {}),
            ...(step.error && step.attempts > 0 ? { retryAt: after + 100 } : {}),
          },
          remove: [
            ...(step.error ? [] : (['lastError'] as const)),
            ...(step.error && step.attempts > 0 ? [] : (['retryAt'] as const)),
            ...(state.bisect && step.to >= state.bisect.until ? (['bisect'] as const) : []),
          ],
        });
        if (!ok) return { kind: 'fenced' };
      } else if (step.kind === 'retry') {
        const ok = await commit({
          set: {
            attempts: step.attempts,
            lastError: errorOf(step.error.code, step.error.message, after),
            ...(step.backoffMs > 0 ? { retryAt: after + step.backoffMs } : {}),
            ...(step.bisectLimit ? { bisect: { limit: step.bisectLimit, until: offsets.at(-1)! + 1 } } : {}),
          },
          remove: step.backoffMs > 0 ? [] : ['retryAt'],
        });
        if (!ok) return { kind: 'fenced' };
        if (step.kind === 'retry' && !step.counted && outcome.kind === 'invoke-error') {
          logger.warn('Trigger invocation failed', { trigger: name, partition, code: step.error.code, message: step.error.message });
        }
      } else {
        if (step.from > position && !(await commit({ set: { position: step.from, attempts: 0 } }))) return { kind: 'fenced' };
        const given = await giveUp(def, { from: step.from, to: step.to, code: step.error.code, message: step.error.message }, read.records);
        if (given === false) return { kind: 'fenced' };
        if (given === 'wait') return await finish({ kind: 'waiting' });
      }
    }
  } catch (error) {
    await releaseLease(lease).catch(() => undefined);
    throw error;
  }
}
