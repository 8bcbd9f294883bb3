import { openApiDocument } from '../shared/api/openapi';
import { httpHandler } from '../shared/http/handler';

let document: Record<string, unknown> | undefined;

export const handler = httpHandler(async () => {
  document ??= openApiDocument();
  return { status: 200, body: document };
});
