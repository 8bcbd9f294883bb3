/** Request schemas of the consumer-group routes, keyed by route name (filled in with the groups issue). */
import type { z } from 'zod';

export function requestSchemas(): Record<string, { body?: z.ZodType; query?: z.ZodObject }> {
  return {};
}
