import { httpHandler } from '../shared/http/handler';
import { produce } from '../shared/log/produce';

export const handler = httpHandler(async (request) => {
  const { response, replayed } = await produce(request.pathParameters.topic!, request.json(), request.headers['idempotency-key']);
  return { status: 200, body: response, headers: replayed ? { 'idempotent-replayed': 'true' } : undefined };
});
