import { httpHandler } from '../shared/http/handler';
import { fetchCommittedOffsetsOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await fetchCommittedOffsetsOperation(request.pathParameters.group!, request.query),
}));
