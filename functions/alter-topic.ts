import { httpHandler } from '../shared/http/handler';
import { alterTopicOperation } from '../shared/topics/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await alterTopicOperation(request.pathParameters.topic!, request.json()),
}));
