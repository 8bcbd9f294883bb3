/**
 * One execution environment of a local function: a worker thread that imports the handler
 * module once and runs invocations one at a time, as a Lambda execution environment does. The
 * Lambda Invoke API server (lambda-server.ts) terminates the worker when an invocation outlives
 * its timeout, so a looping handler cannot block anything.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

interface InvokeMessage {
  readonly id: number;
  readonly event: unknown;
  readonly context: { awsRequestId: string; functionName: string; invokedFunctionArn: string; deadline: number; memoryLimitInMB: string };
}

type Handler = (event: unknown, context: unknown, callback?: (error: unknown, result?: unknown) => void) => unknown;

const { modulePath } = workerData as { modulePath: string };

function serializeError(error: unknown): { errorType: string; errorMessage: string; stackTrace: string[] } {
  if (error instanceof Error) {
    return {
      errorType: error.name,
      errorMessage: error.message,
      stackTrace: (error.stack ?? '')
        .split('\n')
        .slice(1)
        .map((l) => l.trim()),
    };
  }
  return { errorType: 'Error', errorMessage: typeof error === 'string' ? error : JSON.stringify(error), stackTrace: [] };
}

const loaded: Promise<Handler> = import(pathToFileURL(modulePath).href).then(
  (module: { handler?: unknown; default?: { handler?: unknown } }) => {
    const handler = module.handler ?? module.default?.handler;
    if (typeof handler !== 'function')
      throw Object.assign(new Error(`${modulePath} does not export a function named handler`), { name: 'Runtime.HandlerNotFound' });
    return handler as Handler;
  },
);
loaded.catch(() => undefined);

parentPort!.on('message', async (message: InvokeMessage) => {
  const context = {
    ...message.context,
    functionVersion: '$LATEST',
    logGroupName: `/aws/lambda/${message.context.functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, message.context.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    let handler: Handler;
    try {
      handler = await loaded;
    } catch (error) {
      const cause = error as Error;
      throw Object.assign(new Error(cause.message), {
        name: cause.name?.startsWith('Runtime.') ? cause.name : 'Runtime.ImportModuleError',
      });
    }
    const result = await new Promise((resolve, reject) => {
      const returned = handler(message.event, context, (error, value) => (error ? reject(error) : resolve(value)));
      if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    });
    parentPort!.postMessage({ id: message.id, ok: true, payload: result === undefined ? 'null' : JSON.stringify(result) });
  } catch (error) {
    parentPort!.postMessage({ id: message.id, ok: false, error: serializeError(error) });
  }
});
