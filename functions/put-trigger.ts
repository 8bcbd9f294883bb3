import { httpHandler } from '../shared/http/handler';
import { putTriggerOperation } from '../shared/triggers/operations';

export const handler = httpHandler(async (request) => {
  const { created, trigger } = await putTriggerOperation(request.pathParameters.trigger!, request.json());
  return { status: created ? 201 : 200, body: trigger };
});
