/**
 * The answer to a request that no route takes, in the contract's error shape: 404 NOT_FOUND for an
 * unknown path, 405 METHOD_NOT_ALLOWED (with `Allow`) for a known path under another method, 400
 * for a path that is not valid percent-encoding. The local gateway calls it, and on AWS the
 * `$default` route's function does, so both answer alike.
 */
import { endpointNotFound, invalidRequest, methodNotAllowed } from '../errors';
import type { HttpResponse } from './handler';
import { matchRoute } from './routes';

export function notFoundResponse(method: string, path: string): HttpResponse {
  const lookup = matchRoute(method, path);
  const shownPath = path.slice(0, 300);
  switch (lookup.kind) {
    case 'method-not-allowed': {
      const allow = [...new Set(lookup.allow)];
      const error = methodNotAllowed(method, shownPath, allow);
      return { status: 405, body: error.toJSON(), headers: { allow: allow.join(', ') } };
    }
    case 'malformed-path': {
      const error = invalidRequest(
        `The path segment '${lookup.segment.slice(0, 100)}' is not valid percent-encoding (a '%' must be followed by two hex digits).`,
        {
          field: 'path',
        },
      );
      return { status: 400, body: error.toJSON() };
    }
    default: {
      const error = endpointNotFound(method, shownPath);
      return { status: 404, body: error.toJSON() };
    }
  }
}
