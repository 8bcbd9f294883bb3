import { httpHandler } from '../shared/http/handler';
import { listTopicsOperation } from '../shared/topics/operations';

export const handler = httpHandler(async () => ({ status: 200, body: await listTopicsOperation() }));
