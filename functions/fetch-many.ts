import { parseFetchMany } from '../shared/api/log-requests';
import { httpHandler } from '../shared/http/handler';
import { fetchMany } from '../shared/log/fetch';

export const handler = httpHandler(async (request) => ({ status: 200, body: await fetchMany(parseFetchMany(request)) }));
