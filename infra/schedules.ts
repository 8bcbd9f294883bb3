/**
 * Scheduled functions: work that runs on a timer rather than per request (retention sweeps,
 * removing the data of deleted topics, expiring idle group members...). Same idea as the route
 * table in shared/http/routes.ts: CDK makes one Lambda function per entry from
 * `functions/<name>.ts` (exporting `handler`), an EventBridge rule that invokes it on
 * `schedule`, and grants it exactly the access listed.
 *
 * To add one, append an entry to `scheduledFunctions` below and write `functions/<name>.ts`;
 * CONTRIBUTING.md walks through it.
 */
import type { Access } from '../shared/http/routes';
import type { TableId } from '../shared/storage/tables';

export interface ScheduledFunctionDefinition {
  /** Handler module name (functions/<name>.ts) and the function's logical name. */
  readonly name: string;
  /** An EventBridge schedule expression: `rate(5 minutes)` or `cron(0 3 * * ? *)` (UTC). */
  readonly schedule: string;
  readonly description: string;
  readonly tables: Partial<Record<TableId, Access>>;
  readonly bucket?: Access;
  /** Up to Lambda's 900 s; defaults to 300 s. */
  readonly timeoutSeconds?: number;
}

export const scheduledFunctions: readonly ScheduledFunctionDefinition[] = [
  {
    name: 'retention-sweep',
    schedule: 'rate(5 minutes)',
    description: "Deletes batches and segment objects past their topic's retention and purges deleted topics",
    tables: { topics: 'readwrite', partitions: 'readwrite', batches: 'readwrite', idempotency: 'readwrite' },
    bucket: 'readwrite',
    timeoutSeconds: 600,
  },
];
