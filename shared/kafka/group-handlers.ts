import type { Message } from './codec';
import type { Handler, RequestContext } from './handlers';

async function findCoordinator(_request: unknown, { broker }: RequestContext): Promise<Message> {
  return { errorCode: 0, errorMessage: null, nodeId: broker.nodeId, host: broker.host, port: broker.port };
}

export const groupHandlers: Readonly<Record<number, Handler>> = {
  10: findCoordinator,
};
