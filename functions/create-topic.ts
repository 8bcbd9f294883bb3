import { httpHandler } from '../shared/http/handler';
import { createTopicOperation } from '../shared/topics/operations';

export const handler = httpHandler(async (request) => ({ status: 201, body: await createTopicOperation(request.json()) }));
