import { httpHandler } from '../shared/http/handler';
import { deleteGroupOperation } from '../shared/groups/operations';

export const handler = httpHandler(async (request) => {
  await deleteGroupOperation(request.pathParameters.group!);
  return { status: 204 };
});
