import { httpHandler } from '../shared/http/handler';
import { resetTriggerOperation } from '../shared/triggers/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await resetTriggerOperation(request.pathParameters.trigger!, request.json()),
}));
