import { httpHandler } from '../shared/http/handler';
import { describeTopicOperation } from '../shared/topics/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await describeTopicOperation(request.pathParameters.topic!),
}));
