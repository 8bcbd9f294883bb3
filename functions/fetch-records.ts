import { httpHandler } from '../shared/http/handler';
import { fetchPartition } from '../shared/log/fetch';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await fetchPartition(request.pathParameters.topic!, request.pathParameters.partition!, request.query),
}));
