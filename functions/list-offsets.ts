import { parseListOffsets } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { log } from '../shared/log/service';

export const handler = httpHandler(async (request) => {
  const { topic, partition, at } = parseListOffsets(request);
  return { status: 200, body: await log.lookupOffset(topic, partition, at) };
});
