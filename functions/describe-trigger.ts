import { httpHandler } from '../shared/http/handler';
import { describeTriggerOperation } from '../shared/triggers/operations';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await describeTriggerOperation(request.pathParameters.trigger!),
}));
