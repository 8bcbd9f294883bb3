/**
 * The workload's HTTP calls, and how each outcome is classified for the history:
 * 2xx ok; 4xx fail (the service refused: nothing happened); a refused connection fail (the
 * request never reached the runtime); 5xx, a timeout or a dropped connection info (it may or
 * may not have happened).
 */
export interface CallOutcome {
  readonly type: 'ok' | 'fail' | 'info';
  readonly status?: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field by the workload
  readonly body?: any;
  readonly headers?: Headers;
  /** `<status> <CODE>` or the transport error. */
  readonly error?: string;
}

export async function call(
  baseUrl: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 4000,
): Promise<CallOutcome> {
  let response: Response;
  try {
    response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') return { type: 'fail', error: 'ECONNREFUSED' };
    if ((error as Error).name === 'TimeoutError') return { type: 'info', error: 'timeout' };
    return { type: 'info', error: cause?.code ?? (error as Error).message };
  }
  let parsed: unknown;
  try {
    const text = await response.text();
    parsed = text ? JSON.parse(text) : undefined;
  } catch (error) {
    if ((error as Error).name === 'TimeoutError' || response.ok) return { type: 'info', status: response.status, error: 'body lost' };
  }
  if (response.ok) return { type: 'ok', status: response.status, body: parsed, headers: response.headers };
  const code =
    (parsed as { error?: { code?: string } } | undefined)?.error?.code ?? (parsed as { message?: string } | undefined)?.message ?? '';
  return {
    type: response.status >= 500 ? 'info' : 'fail',
    status: response.status,
    body: parsed,
    headers: response.headers,
    error: `${response.status} ${code}`.trim(),
  };
}
