import { httpHandler } from '../shared/http/handler';
import { heartbeatOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await heartbeatOperation(request.pathParameters.group!, request.json()),
}));
