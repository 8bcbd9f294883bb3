/**
 * Races injected into the real SDK clients: `before` runs once, ahead of the first command that
 * `matches`, and the command then goes on to the real emulator. No mocks.
 */
import type { MiddlewareStack } from '@smithy/types';

export type ClientStack = MiddlewareStack<any, any>;

export async function aheadOfFirst<T>(
  stack: ClientStack,
  matches: (commandName: string, input: any) => boolean,
  before: () => Promise<unknown>,
  body: () => Promise<T>,
): Promise<T> {
  let armed = true;
  const name = `aheadOfFirst-${Math.random().toString(36).slice(2)}`;
  stack.add(
    (next, context) => async (args) => {
      if (armed && matches(context.commandName as string, args.input)) {
        armed = false;
        await before();
      }
      return next(args);
    },
    { step: 'initialize', name },
  );
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
  const name = `loseFirstResponse-${Math.random().toString(36).slice(2)}`;
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
