/**
 * Request validation: zod schemas are the one source of both validation and the OpenAPI
 * document. A failed parse becomes 400 INVALID_REQUEST naming the offending field.
 */
import type { z } from 'zod';
import { type FieldErrorCode, fieldError, invalidRequest } from '../errors';

export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/**
 * Kafka error codes for fields whose bad values Kafka names, by top-level field, e.g.
 * `{ partitions: 'INVALID_PARTITIONS' }`. A value of the wrong type stays INVALID_REQUEST.
 */
export type FieldErrorCodes = Readonly<Record<string, FieldErrorCode>>;

/**
 * Parses `value` with `schema`. `where` names the part of the request ("body", "query") for
 * messages about the whole of it.
 */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown, where: string, fieldCodes: FieldErrorCodes = {}): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = fieldPath(issue.path) || where;
  const message = `${field}: ${issue.message}`;
  const topField = issue.path[0];
  // zod reports a non-integer number as invalid_type "expected int": a bad value, not a bad type.
  const wrongType = issue.code === 'invalid_type' && (issue as { expected?: string }).expected !== 'int';
  const code = wrongType || typeof topField !== 'string' || !Object.hasOwn(fieldCodes, topField) ? undefined : fieldCodes[topField];
  if (code) throw fieldError(code, message, field);
  throw invalidRequest(message, { field });
}

/**
 * Builds a request schema on first use and keeps it. Schemas depend only on the process's
 * configuration, and building one per request is needless work on hot paths (fetch, heartbeat).
 */
export function schemaOnce<T>(build: () => T): () => T {
  let built: T | undefined;
  return () => (built ??= build());
}
