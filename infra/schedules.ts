/**
 * Scheduled functions: work that runs on a timer rather than per request (the retention sweep,
 * which also removes the data of deleted topics; the trigger sweep, which wakes trigger partitions
 * whose wake-up was missed). Group members are not expired on a timer: the next request that
 * touches the group drops lapsed members (docs/groups.md, "Expiry"). Same idea as the route
 * table in shared/http/routes.ts: CDK makes one Lambda function per entry from
 * `functions/<name>.ts` (exporting `handler`), an EventBridge rule that invokes it on
 * `schedule`, and grants it exactly the access listed.
 *
 * To add one, append an entry to `scheduledFunctions` below and write `functions/<name>.ts`;
 * CONTRIBUTING.md walks through it.
 */
import type { BucketAccess, TableAccess } from '../shared/http/routes';
import type { TableId } from '../shared/storage/tables';

export interface ScheduledFunctionDefinition {
  /** Handler module name (functions/<name>.ts) and the function's logical name. */
  readonly name: string;
  /** An EventBridge schedule expression: `rate(5 minutes)` or `cron(0 3 * * ? *)` (UTC). */
  readonly schedule: string;
  readonly description: string;
  /** IAM actions per table, as in the route table (shared/http/routes.ts). */
  readonly tables: Partial<Record<TableId, TableAccess>>;
  readonly bucket?: BucketAccess;
  /** Up to Lambda's 900 s; defaults to 300 s. */
  readonly timeoutSeconds?: number;
}

export const scheduledFunctions: readonly ScheduledFunctionDefinition[] = [
  {
    name: 'retention-sweep',
    schedule: 'rate(5 minutes)',
    description: "Deletes chunks and segment objects past their topic's retention, compacts, and purges deleted topics",
    // Lists topics and tombstones (Scan) and removes a purged topic's tombstone; moves log starts,
    // released bytes and compaction marks (UpdateItem; a purge keeps the partition items). In the
    // chunks table: reads chains (Query, GetItem), turns removed chunks into stubs and rewrites
    // compacted ones (PutItem, UpdateItem, both conditioned on what they replace), removes a
    // purged topic's chunks in bulk (BatchWriteItem) and bookkeeping items one by one
    // (DeleteItem), keeps segment release sets and its orphan cursor there (UpdateItem, PutItem)
    // and asks the bySegment index whether an object is referenced (Query); reads, writes
    // (compaction), lists and deletes segment objects. No access to the idempotency table.
    tables: {
      topics: ['read', 'Scan', 'DeleteItem'],
      partitions: ['read', 'UpdateItem'],
      chunks: ['read', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
    },
    bucket: ['read', 'PutObject', 'DeleteObject'],
    timeoutSeconds: 600,
  },
  {
    name: 'trigger-sweep',
    schedule: 'rate(1 minute)',
    description: 'Wakes the trigger dispatcher for any trigger partition with undelivered records and no live lease (a missed wake-up)',
    // Lists definitions (Scan) and reads partition states (Query); reads the heads (partition items
    // and last chunks); wakes the dispatcher by writing wake-up items (BatchWriteItem), which the
    // table's stream delivers.
    tables: { triggers: ['Scan', 'read', 'BatchWriteItem'], topics: ['read'], partitions: ['read'], chunks: ['read'] },
    timeoutSeconds: 60,
  },
];
