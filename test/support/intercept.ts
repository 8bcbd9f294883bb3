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
