/**
 * The API's `$default` route on AWS: every request no route takes. Without it API Gateway answers
 * `{"message":"Not Found"}`; with it, the contract's error shape (404 NOT_FOUND, 405
 * METHOD_NOT_ALLOWED with `Allow`, 400 for a malformed path), the same answer as the local
 * gateway's (both call shared/http/not-found.ts).
 */
import { httpHandler } from '../shared/http/handler';
import { notFoundResponse } from '../shared/http/not-found';

export const handler = httpHandler(async (request) => notFoundResponse(request.method, request.path));
