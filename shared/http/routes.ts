/**
 * The route table: every HTTP operation of Logway, its handler and what it may touch.
 *
 * CDK makes one Lambda function and one API Gateway route per entry, and grants each function
 * exactly the actions listed (nothing else: see docs/deploy.md); the local gateway routes requests
 * with the same table and calls the same handler module in-process, and the test suite checks
 * every SDK call a handler makes against the synthesized grants. A route's handler lives in
 * `functions/<name>.ts` and is exported as `handler`.
 */
import type { TableId } from '../storage/tables';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** DynamoDB item actions, by their IAM names (without `dynamodb:`). */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'ConditionCheckItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';
/** S3 actions on the segment bucket (objects under segments/, and listing it), by IAM name. */
export type BucketAction = 'GetObject' | 'PutObject' | 'DeleteObject' | 'ListBucket';

/**
 * What a function may do with one table: IAM action names, or `read` for reading items by key
 * (GetItem, BatchGetItem, Query on the table and its indexes, ConditionCheckItem in a
 * transaction). Scans and every write are always named.
 */
export type TableAccess = readonly ('read' | TableAction)[];
/** What a function may do with the segment bucket; `read` is GetObject + ListBucket (a missing key is then 404, not 403). */
export type BucketAccess = readonly ('read' | BucketAction)[];

export const tableReadActions = ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'] as const satisfies readonly TableAction[];
export const bucketReadActions = ['GetObject', 'ListBucket'] as const satisfies readonly BucketAction[];

/** The IAM actions (without service prefix) an access list grants, `read` expanded, sorted and unique. */
export function tableActions(access: TableAccess): TableAction[] {
  return [...new Set(access.flatMap((grant) => (grant === 'read' ? tableReadActions : [grant])))].sort();
}

export function bucketActions(access: BucketAccess): BucketAction[] {
  return [...new Set(access.flatMap((grant) => (grant === 'read' ? bucketReadActions : [grant])))].sort();
}

export interface RouteDefinition {
  /** Handler module name (functions/<name>.ts) and the Lambda function's logical name. */
  readonly name: string;
  readonly method: HttpMethod;
  /** API Gateway path syntax: `{param}` for one path segment. */
  readonly path: string;
  readonly summary: string;
  readonly tables: Partial<Record<TableId, TableAccess>>;
  readonly bucket?: BucketAccess;
  /** A long-polling route needs a timeout beyond its longest wait. */
  readonly timeoutSeconds?: number;
}

export const routes = [
  { name: 'health', method: 'GET', path: '/v1/health', summary: 'Liveness of the API', tables: {} },
  { name: 'openapi', method: 'GET', path: '/v1/openapi.json', summary: 'This API as an OpenAPI 3.1 document', tables: {} },
  {
    name: 'create-topic',
    method: 'POST',
    path: '/v1/topics',
    summary: 'Create a topic',
    // A conditional PutItem creates it; the partition heads are read for the answer.
    tables: { topics: ['PutItem'], partitions: ['read'], chunks: ['read'] },
  },
  { name: 'list-topics', method: 'GET', path: '/v1/topics', summary: 'List topics', tables: { topics: ['Scan'] } },
  {
    name: 'describe-topic',
    method: 'GET',
    path: '/v1/topics/{topic}',
    summary: 'Describe a topic: config and partition offsets',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read'] },
  },
  {
    name: 'alter-topic',
    method: 'PATCH',
    path: '/v1/topics/{topic}',
    summary: 'Grow partitions or change config',
    // A config change or a growth puts a fence chunk at every partition's head (PutItem), sealing
    // an open head first (UpdateItem); the heads are read for the description.
    tables: { topics: ['read', 'UpdateItem'], partitions: ['read'], chunks: ['read', 'PutItem', 'UpdateItem'] },
  },
  {
    name: 'delete-topic',
    method: 'DELETE',
    path: '/v1/topics/{topic}',
    summary: 'Delete a topic; its name is reusable at once',
    // Marks every partition item deleted and puts a deletion fence at every partition's head
    // (sealing an open head first), then swaps the topic for its tombstone in one transaction
    // (DeleteItem + PutItem); the retention sweep removes the data later.
    tables: { topics: ['read', 'PutItem', 'DeleteItem'], partitions: ['UpdateItem'], chunks: ['read', 'PutItem', 'UpdateItem'] },
  },
  {
    name: 'produce',
    method: 'POST',
    path: '/v1/topics/{topic}/records',
    summary: 'Append records atomically, optionally idempotently',
    // Reads the head (the last chunk, the partition item), then one conditional PutItem of a new
    // chunk, or an UpdateItem joining or sealing the open one (a transaction of those when the
    // request spans partitions or carries an Idempotency-Key, with the key's response: PutItem).
    // Under contention an Idempotency-Key's append claims the key instead, joins, and completes or
    // gives back the claim, each a conditional PutItem (shared/log/exactly-once.ts); a spanning
    // request reads its offsets back from the joined chunks (BatchGetItem).
    // Large batches go to a new segment object (PutObject). Nothing is ever deleted by produce.
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read', 'PutItem', 'UpdateItem'], idempotency: ['read', 'PutItem'] },
    bucket: ['PutObject'],
  },
  {
    name: 'fetch-records',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/records',
    summary: 'Fetch records from an offset, optionally long-polling',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
    timeoutSeconds: 29,
  },
  {
    name: 'fetch-many',
    method: 'POST',
    path: '/v1/fetch',
    summary: 'Fetch from several partitions; returns as soon as any has data',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
    timeoutSeconds: 29,
  },
  {
    name: 'list-offsets',
    method: 'GET',
    path: '/v1/topics/{topic}/partitions/{partition}/offsets',
    summary: 'Earliest, latest, or first offset at or after a timestamp',
    tables: { topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
  },
  {
    name: 'group-heartbeat',
    method: 'POST',
    path: '/v1/groups/{group}/heartbeat',
    summary: 'Join, heartbeat or leave a consumer group; returns the member epoch and assignment',
    // PutItem for a membership change, UpdateItem for a heartbeat that changes only liveness.
    tables: { groups: ['read', 'PutItem', 'UpdateItem'], topics: ['read'] },
  },
  {
    name: 'commit-offsets',
    method: 'POST',
    path: '/v1/groups/{group}/offsets',
    summary: "Commit offsets, as the partitions' owning member or (group empty) without a member",
    // One transaction: the group checked (ConditionCheckItem) or, without a member, written (PutItem:
    // creates the group and drops expired members), and a PutItem per committed offset.
    tables: { groups: ['read', 'PutItem'], offsets: ['PutItem'], topics: ['read'] },
  },
  {
    name: 'fetch-committed-offsets',
    method: 'GET',
    path: '/v1/groups/{group}/offsets',
    summary: "A group's committed offsets",
    // topics: offsets are kept per topic id; the listing shows those of each topic's live id only.
    tables: { groups: ['read'], offsets: ['read'], topics: ['read'] },
  },
  { name: 'list-groups', method: 'GET', path: '/v1/groups', summary: 'List consumer groups', tables: { groups: ['Scan'] } },
  {
    name: 'describe-group',
    method: 'GET',
    path: '/v1/groups/{group}',
    summary: 'Describe a group: state, epochs, members, and per partition the committed offset, high watermark and lag',
    tables: { groups: ['read'], offsets: ['read'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
  },
  {
    name: 'reset-offsets',
    method: 'POST',
    path: '/v1/groups/{group}/reset-offsets',
    summary: "Reset an empty group's offsets of a topic to earliest, latest, a timestamp or an offset",
    // As an offset commit without a member (groups PutItem: creates the group if needed and drops
    // expired members); batches and bucket: the timestamp lookup.
    tables: { groups: ['read', 'PutItem'], offsets: ['PutItem'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
  },
  {
    name: 'delete-group',
    method: 'DELETE',
    path: '/v1/groups/{group}',
    summary: 'Delete an empty group and its committed offsets',
    tables: { groups: ['read', 'DeleteItem'], offsets: ['read', 'DeleteItem'] },
  },
  {
    name: 'put-trigger',
    method: 'PUT',
    path: '/v1/triggers/{trigger}',
    summary: "Create or replace a trigger: a Lambda function invoked with a topic's records",
    // The definition is read and put conditionally; partitions and batches (and the bucket, for a
    // batch in a segment): the starting position (high watermark, or a timestamp lookup).
    tables: { triggers: ['read', 'PutItem'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
  },
  { name: 'list-triggers', method: 'GET', path: '/v1/triggers', summary: 'List triggers', tables: { triggers: ['Scan'] } },
  {
    name: 'describe-trigger',
    method: 'GET',
    path: '/v1/triggers/{trigger}',
    summary: 'Describe a trigger: its definition and per partition the position, high watermark, lag and last error',
    tables: { triggers: ['read'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
  },
  {
    name: 'delete-trigger',
    method: 'DELETE',
    path: '/v1/triggers/{trigger}',
    summary: 'Delete a trigger and its positions',
    // The definition is deleted conditionally, then the state items found by a Query in batches.
    tables: { triggers: ['read', 'DeleteItem', 'BatchWriteItem'] },
  },
  {
    name: 'reset-trigger',
    method: 'POST',
    path: '/v1/triggers/{trigger}/reset',
    summary: "Move a disabled trigger's position (every partition or one) to earliest, latest, a timestamp or an offset",
    // Each partition's state item is updated (position, fencing epoch); the rest is the target's lookup.
    tables: { triggers: ['read', 'UpdateItem'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
    bucket: ['read'],
  },
] as const satisfies readonly RouteDefinition[];

export type RouteName = (typeof routes)[number]['name'];

export interface RouteMatch {
  readonly route: RouteDefinition;
  readonly pathParameters: Record<string, string>;
}

const compiled = routes.map((route: RouteDefinition) => {
  const paramNames: string[] = [];
  const pattern = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_match, name: string) => {
    paramNames.push(name);
    return '([^/]+)';
  });
  return { route, regex: new RegExp(`^${pattern}$`), paramNames };
});

export type RouteLookup =
  | ({ readonly kind: 'matched' } & RouteMatch)
  /** The path exists under other methods: HTTP's 405, with these in `Allow`. */
  | { readonly kind: 'method-not-allowed'; readonly allow: readonly HttpMethod[] }
  | { readonly kind: 'not-found' }
  /** A path segment is not valid percent-encoding (`%ZZ`): the request is malformed, a 400. */
  | { readonly kind: 'malformed-path'; readonly segment: string };

/**
 * Finds the route for a request path the way API Gateway does: exact segments, `{param}` matching
 * one non-empty segment, parameters percent-decoded.
 */
export function matchRoute(method: string, path: string): RouteLookup {
  const allow: HttpMethod[] = [];
  for (const { route, regex, paramNames } of compiled) {
    const match = regex.exec(path);
    if (!match) continue;
    if (route.method !== method.toUpperCase()) {
      allow.push(route.method);
      continue;
    }
    const pathParameters: Record<string, string> = {};
    for (const [i, name] of paramNames.entries()) {
      const raw = match[i + 1] ?? '';
      try {
        pathParameters[name] = decodeURIComponent(raw);
      } catch {
        return { kind: 'malformed-path', segment: raw };
      }
    }
    return { kind: 'matched', route, pathParameters };
  }
  return allow.length > 0 ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
}
