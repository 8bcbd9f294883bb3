import { httpHandler } from '../shared/http/handler';
import { listGroupsOperation } from '../shared/groups/operations';

export const handler = httpHandler(async () => ({ status: 200, body: await listGroupsOperation() }));
