/**
 * Serves the built console's files under `/console/`, for the local gateway and for the
 * `logway console` proxy alike. Only the files of the build folder are served (no path is
 * joined from the request), with a strict Content-Security-Policy: the page loads nothing but
 * its own script and style and talks to nothing but its own origin.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';

export const consolePathPrefix = '/console/';

export interface StaticResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export const consoleSecurityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

const notFound = (message: string): StaticResponse => ({
  status: 404,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify({ error: { code: 'NOT_FOUND', message } })),
});

/** Is this request path the console's (`/console` or below)? */
export function isConsolePath(pathname: string): boolean {
  return pathname === '/console' || pathname.startsWith(consolePathPrefix);
}

/** The response for a GET of `pathname` (a console path) from the build folder `dir`. */
export function serveConsoleFile(method: string, pathname: string, dir: string): StaticResponse {
  if (pathname === '/console') return { status: 308, headers: { location: consolePathPrefix }, body: Buffer.alloc(0) };
  if (method !== 'GET' && method !== 'HEAD') {
    return {
      status: 405,
      headers: { 'content-type': 'application/json', allow: 'GET, HEAD' },
      body: Buffer.from(
        JSON.stringify({ error: { code: 'METHOD_NOT_ALLOWED', message: `The console's files are read with GET, not ${method}.` } }),
      ),
    };
  }
  const name = pathname === consolePathPrefix ? 'index.html' : pathname.slice(consolePathPrefix.length);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return notFound(`The console is not built (no ${dir}); run npm run build:console.`);
  }
  if (!names.includes(name) || name.startsWith('.') || !(extname(name) in contentTypes)) {
    return notFound(`The console has no file '${name.slice(0, 200)}'.`);
  }
  const body = readFileSync(join(dir, name));
  return { status: 200, headers: { 'content-type': contentTypes[extname(name)]!, ...consoleSecurityHeaders }, body };
}
