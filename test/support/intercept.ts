/**
 * Races injected into the real SDK clients: `before` runs once, ahead of the first command that
 * `matches`, and the command then goes on to the real emulator. No mocks.
 */
// Names from randomUUID, not Math.random: a test may stub Math.random (a keyless record's partition).
import { randomUUID } from 'node:crypto';
import type { InitializeMiddleware, MiddlewareStack } from '@smithy/types';

export type ClientStack = MiddlewareStack<any, any>;

export async function aheadOfFirst<T>(
  stack: ClientStack,
  matches: (commandName: string, input: any) => boolean,
  before: () => Promise<unknown>,
  body: () => Promise<T>,
): Promise<T> {
  let armed = true;
  return whileInitializing(
    stack,
    (next, context) => async (args) => {
      if (armed && matches(context.commandName as string, args.input)) {
        armed = false;
        await before();
      }
      return next(args);
    },
    body,
  );
}

/** Runs `body` with `middleware` first in the client's initialize step, and removes it after. */
async function whileInitializing<T>(stack: ClientStack, middleware: InitializeMiddleware<any, any>, body: () => Promise<T>): Promise<T> {
  const name = `intercept-${randomUUID()}`;
  stack.add(middleware, { step: 'initialize', name });
  try {
    return await body();
  } finally {
    stack.remove(name);
  }
}

/**
 * Loses the response of the first command that `matches` after the write reached the emulator, as
 * a dropped connection or a 500 after commit would: the SDK's own retry then sends it again.
 * `meanwhile` runs between the write and its retry (what other writers and sweeps did while the
 * answer was lost). Resolves to whether a response was lost.
 */
export async function loseFirstResponse<T>(
  stack: ClientStack,
  matches: (commandName: string, input: any) => boolean,
  body: () => Promise<T>,
  meanwhile?: () => Promise<unknown>,
): Promise<{ result: T; lost: boolean }> {
  let armed = true;
  const name = `loseFirstResponse-${randomUUID()}`;
  // The deserialize step runs inside the retry middleware (finalizeRequest), so the SDK retries.
  stack.add(
    (next, context) => async (args) => {
      const output = await next(args);
      if (armed && matches(context.commandName as string, args.input)) {
        armed = false;
        await meanwhile?.();
        throw Object.assign(new Error('injected: the response was lost after the write applied'), {
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        });
      }
      return output;
    },
    { step: 'deserialize', name },
  );
  try {
    const result = await body();
    return { result, lost: !armed };
  } finally {
    stack.remove(name);
  }
}

/**
 * Runs `body`, appending to `sent` each command the client sends from then on, as
 * `<command> <table id>` with the table it names (a transaction: its first item's) under the id
 * `tableIds` gives it. In a race set up with aheadOfFirst the racer's commands are recorded too,
 * before the command that triggered it: that middleware runs first.
 */
export async function recordingCommands<T>(
  stack: ClientStack,
  tableIds: Readonly<Record<string, string>>,
  sent: string[],
  body: () => Promise<T>,
): Promise<T> {
  return whileInitializing(
    stack,
    (next, context) => async (args) => {
      const input = args.input as any;
      const firstItem: any = Object.values(input.TransactItems?.[0] ?? {})[0];
      const table = String(input.TableName ?? input.Bucket ?? firstItem?.TableName ?? '');
      sent.push(`${context.commandName} ${tableIds[table] ?? table}`);
      return next(args);
    },
    body,
  );
}

/** The table a command names (a transaction: its items'), by the suffix of its name. */
const names = (input: any, suffix: string) =>
  String(input.TableName).endsWith(suffix) ||
  (input.TransactItems ?? []).some((item: any) => String(Object.values(item as object)[0]?.TableName).endsWith(suffix));

/** A claim of an Idempotency-Key (shared/log/exactly-once.ts): a Put of a pending record. */
export const isClaim = (commandName: string, input: any) =>
  commandName === 'PutItemCommand' && names(input, 'idempotency') && input.Item?.pending === true;

/** A write of the chunks table: a Put, a join, or a transaction of them. */
export const isChunkWrite = (commandName: string, input: any) =>
  ['PutItemCommand', 'UpdateItemCommand', 'TransactWriteItemsCommand'].includes(commandName) && names(input, 'chunks');

const injectedDeath = () => Object.assign(new Error('injected: the attempt died'), { name: 'ValidationException', $metadata: {} });

/** Whether a chunk write (a Put, a join, or a transaction of them) carries the entry of `writeId`. */
function carriesWrite(input: any, writeId: string): boolean {
  const items: any[] = input.TransactItems ? input.TransactItems.map((item: any) => Object.values(item as object)[0]) : [input];
  return items.some(
    (item) =>
      String(item?.TableName).endsWith('chunks') &&
      (item.Item?.writeIds?.has?.(writeId) || item.ExpressionAttributeValues?.[':writeId'] === writeId),
  );
}

/**
 * Runs `body` as a process killed right after its append applied: the first chunk write carrying
 * a claim's write id to succeed loses its answer, and so does the attempt's own look for its write
 * (the next Query of the chunks). The attempt answers 500 and leaves its claim pending, with its
 * write in the chunks, and nothing else of it is written. Other writers (a racer) are untouched.
 */
export async function dyingAfterAppend<T>(stack: ClientStack, body: () => Promise<T>): Promise<T> {
  let writeId: string | undefined;
  let appended = false;
  let searched = false;
  return whileInitializing(
    stack,
    (next, context) => async (args) => {
      const name = context.commandName as string;
      const input = args.input as any;
      if (writeId === undefined && isClaim(name, input)) writeId = input.Item.writeId;
      if (appended && !searched && name === 'QueryCommand' && names(input, 'chunks')) {
        searched = true;
        throw injectedDeath();
      }
      const output = await next(args);
      if (writeId !== undefined && !appended && isChunkWrite(name, input) && carriesWrite(input, writeId)) {
        appended = true;
        throw injectedDeath();
      }
      return output;
    },
    body,
  );
}

/**
 * Runs `body` with the `nth` command that `matches` (1-based) throttled, as DynamoDB throttles a
 * hot key once the SDK's own retries are spent: a ProvisionedThroughputExceededException that
 * never reaches the emulator, so nothing of it is written.
 */
export async function throttlingNth<T>(
  stack: ClientStack,
  matches: (commandName: string, input: any) => boolean,
  nth: number,
  body: () => Promise<T>,
): Promise<{ result: T; throttled: boolean }> {
  let seen = 0;
  let throttled = false;
  const result = await whileInitializing(
    stack,
    (next, context) => async (args) => {
      if (matches(context.commandName as string, args.input) && ++seen === nth) {
        throttled = true;
        throw Object.assign(new Error('injected: the key is throttled'), {
          name: 'ProvisionedThroughputExceededException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return next(args);
    },
    body,
  );
  return { result, throttled };
}
