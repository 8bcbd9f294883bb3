import { httpHandler } from '../shared/http/handler';
import { commitOffsetsOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await commitOffsetsOperation(request.pathParameters.group!, request.json()),
}));
