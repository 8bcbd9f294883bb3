import { httpHandler } from '../shared/http/handler';
import { listTriggersOperation } from '../shared/triggers/operations';

export const handler = httpHandler(async () => ({ status: 200, body: await listTriggersOperation() }));
