import { httpHandler } from '../shared/http/handler';
import { deleteTopicOperation } from '../shared/topics/operations';

export const handler = httpHandler(async (request) => {
  await deleteTopicOperation(request.pathParameters.topic!);
  return { status: 204 };
});
