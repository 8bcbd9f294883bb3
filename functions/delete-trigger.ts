import { httpHandler } from '../shared/http/handler';
import { deleteTriggerOperation } from '../shared/triggers/operations';

export const handler = httpHandler(async (request) => {
  await deleteTriggerOperation(request.pathParameters.trigger!);
  return { status: 204 };
});
