import { parseProduce } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { log } from '../shared/log/service';

export const handler = httpHandler(async (request) => {
  const { topic, records, idempotency } = parseProduce(request);
  const { response, replayed } = await log.produce(topic, records, idempotency);
  return { status: 200, body: response, headers: replayed ? { 'idempotent-replayed': 'true' } : undefined };
});
