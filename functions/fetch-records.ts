import { parseFetchRecords } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { log } from '../shared/log/service';

export const handler = httpHandler(async (request) => {
  const { topic, partition, params } = parseFetchRecords(request);
  return { status: 200, body: await log.fetchPartition(topic, partition, params) };
});
