import { parseFetchMany } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { log } from '../shared/log/service';

export const handler = httpHandler(async (request) => ({ status: 200, body: await log.fetchMany(parseFetchMany(request)) }));
