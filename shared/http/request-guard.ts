/**
 * The guard every local HTTP listener (the gateway, the Lambda Invoke API, the console proxy)
 * puts in front of its handlers. They bind 127.0.0.1, but a web page in the user's browser can
 * still reach them: by DNS rebinding (a foreign name that resolves to 127.0.0.1, seen in Host)
 * or by a cross-site request (CSRF, seen in Origin and Sec-Fetch-Site). Either is refused before
 * anything runs. Requests from curl, SDKs and the CLI carry a loopback Host and no Origin.
 */

export type ForeignRequestCode = 'FORBIDDEN_HOST' | 'FORBIDDEN_ORIGIN';

export interface ForeignRequestRefusal {
  readonly status: 403;
  readonly code: ForeignRequestCode;
  readonly message: string;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const loopbackNames = ['127.0.0.1', 'localhost', '[::1]'] as const;

/** The Host values a request to this listener may carry: a loopback name and the listener's port. */
export function allowedHosts(port: number): string[] {
  const hosts = loopbackNames.map((name) => `${name}:${port}`);
  // Browsers and clients omit the default port from Host.
  if (port === 80) hosts.push(...loopbackNames);
  return hosts;
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Returns why a request must be refused, or undefined when it comes from this machine's own clients. */
export function refuseForeignRequest(headers: Headers, port: number): ForeignRequestRefusal | undefined {
  const hosts = allowedHosts(port);
  const host = header(headers, 'host')?.trim().toLowerCase();
  // HTTP/1.0 may omit Host; no browser does, so a missing Host is no rebinding attack.
  if (host !== undefined && !hosts.includes(host)) {
    return {
      status: 403,
      code: 'FORBIDDEN_HOST',
      message: `Host '${host.slice(0, 200)}' is not this local listener; use http://127.0.0.1:${port}. (Requests under other host names are refused to stop DNS rebinding.)`,
    };
  }
  const origin = header(headers, 'origin')?.trim().toLowerCase();
  if (origin !== undefined && origin !== 'null' && !hosts.some((h) => origin === `http://${h}`)) {
    return {
      status: 403,
      code: 'FORBIDDEN_ORIGIN',
      message: `Requests from the web origin '${origin.slice(0, 200)}' are refused: only pages served by this listener (http://127.0.0.1:${port}) may call it.`,
    };
  }
  if (origin === 'null') {
    return { status: 403, code: 'FORBIDDEN_ORIGIN', message: 'Requests from an opaque (null) web origin are refused.' };
  }
  // Without Origin (a simple cross-site GET), a browser still says where the request comes from.
  const site = header(headers, 'sec-fetch-site')?.trim().toLowerCase();
  if (site === 'cross-site' || site === 'same-site') {
    return {
      status: 403,
      code: 'FORBIDDEN_ORIGIN',
      message: `A ${site} request from a web page is refused: only pages served by this listener (http://127.0.0.1:${port}) may call it.`,
    };
  }
  return undefined;
}

/** The refusal as the contract's error body. */
export function refusalBody(refusal: ForeignRequestRefusal): { error: { code: ForeignRequestCode; message: string } } {
  return { error: { code: refusal.code, message: refusal.message } };
}
