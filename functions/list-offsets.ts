import { parseListOffsets } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { lookupOffset } from '../shared/log/offsets';

export const handler = httpHandler(async (request) => {
  const { topic, partition, at } = parseListOffsets(request);
  return { status: 200, body: await lookupOffset(topic, partition, at) };
});
