import { httpHandler } from '../shared/http/handler';

export const handler = httpHandler(async () => ({
  status: 200,
  body: { status: 'ok', service: 'logway', version: process.env.LOGWAY_VERSION ?? 'dev' },
}));
