import { parseFetchRecords } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { fetchPartition } from '../shared/log/fetch';

export const handler = httpHandler(async (request) => {
  const { topic, partition, params } = parseFetchRecords(request);
  return { status: 200, body: await fetchPartition(topic, partition, params) };
});
