import { httpHandler } from '../shared/http/handler';
import { describeGroupOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await describeGroupOperation(request.pathParameters.group!, request.query),
}));
