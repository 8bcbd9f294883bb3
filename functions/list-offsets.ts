import { httpHandler } from '../shared/http/handler';
import { lookupOffset } from '../shared/log/offsets';

export const handler = httpHandler(async (request) => ({
  status: 200,
  body: await lookupOffset(request.pathParameters.topic!, request.pathParameters.partition!, request.query.at),
}));
