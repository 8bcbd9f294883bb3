/**
 * The per-function grants table of docs/deploy.md, rendered from the route table and the schedule
 * table: the docs read the same table of truth as CDK and the IAM check (test/infra/access-docs.test.ts).
 */
import { scheduledFunctions } from '../../infra/schedules';
import { routes, type BucketAccess, type TableAccess } from '../../shared/http/routes';
import { tableIds, type TableId } from '../../shared/storage/tables';

interface Entry {
  readonly name: string;
  readonly tables: Partial<Record<TableId, TableAccess>>;
  readonly bucket?: BucketAccess;
}

const cell = (grants: readonly string[] | undefined) => (grants ? grants.map((g) => `\`${g}\``).join(' ') : '');

export function accessTableMarkdown(): string {
  const entries: Entry[] = [...routes, { name: 'not-found', tables: {} }, ...scheduledFunctions];
  const header = ['function', ...tableIds, 'segment bucket'];
  const rows = entries.map((entry) => [`\`${entry.name}\``, ...tableIds.map((id) => cell(entry.tables[id])), cell(entry.bucket)]);
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((row) => row[i]!.length), 3));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
