import { httpHandler } from '../shared/http/handler';
import { resetOffsetsOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await resetOffsetsOperation(request.pathParameters.group!, request.json()),
}));
