/**
 * Request validation: zod schemas are the one source of both validation and the OpenAPI
 * document. A failed parse becomes 400 INVALID_REQUEST naming the offending field.
 */
import type { z } from 'zod';
import { invalidRequest, LogwayError } from '../errors';

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/**
 * Parses `value` with `schema`. `where` names the part of the request ("body", "query") for
 * messages about the whole of it.
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // A schema may say which Kafka error a field's failure is (e.g. INVALID_PARTITIONS).
  const field = fieldPath(issue.path) || where;
  const message = `${field}: ${issue.message}`;
  const code = (issue as { params?: { code?: string } }).params?.code;
  if (code) throw new LogwayError(400, code, message, { field });
  throw invalidRequest(message, { field });
}
