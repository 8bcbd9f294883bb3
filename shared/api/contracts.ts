/**
 * What each route takes, keyed by the route's name: its request body and query schemas (the zod
 * schemas that validate requests) and the headers it reads. The OpenAPI document is generated from
 * this map, and its type requires an entry for every route in the route table, so a route without
 * a contract, or a contract for a route that does not exist, does not compile.
 */
import { z } from 'zod';
import { requestSchemas as groupRequestSchemas } from '../groups/schemas';
import type { RouteName } from '../http/routes';
import { fetchQuerySchema, multiFetchSchema } from '../log/fetch';
import { produceRequestSchema } from '../log/produce';
import { alterTopicSchema, createTopicSchema } from '../topics/operations';

export interface RouteContract {
  readonly body?: z.ZodType;
  readonly query?: z.ZodObject;
  /** Request headers the route reads, with what each does. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Built on first use: schemas read the deployment's configuration. */
export function routeContracts(): Readonly<Record<RouteName, RouteContract>> {
  const groups = groupRequestSchemas();
  return {
    health: {},
    openapi: {},
    'create-topic': { body: createTopicSchema() },
    'list-topics': {},
    'describe-topic': {},
    'alter-topic': { body: alterTopicSchema() },
    'delete-topic': {},
    produce: {
      body: produceRequestSchema,
      headers: { 'Idempotency-Key': 'Makes a retry return the first response instead of appending again (kept 24 h).' },
    },
    'fetch-records': { query: fetchQuerySchema() },
    'fetch-many': { body: multiFetchSchema() },
    'list-offsets': { query: z.object({ at: z.string().describe("'earliest', 'latest' or a timestamp in ms") }) },
    'group-heartbeat': groups['group-heartbeat'],
    'commit-offsets': groups['commit-offsets'],
    'fetch-committed-offsets': groups['fetch-committed-offsets'],
    'list-groups': {},
    'describe-group': groups['describe-group'],
    'reset-offsets': groups['reset-offsets'],
    'delete-group': {},
  } satisfies Record<RouteName, RouteContract>;
}
