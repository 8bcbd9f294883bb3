/**
 * `npm run example [-- <name>]`: runs one example. `user-events` (the default): a consumer group
 * at work; `triggers`: a Lambda function invoked with a topic's records.
 */
const examples: Record<string, string> = { 'user-events': './user-events.ts', triggers: './triggers.ts' };
const name = process.argv[2] ?? 'user-events';
// The service's CloudWatch metric lines are noise in an example's output.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const path = examples[name];
if (!path) {
  console.error(`unknown example '${name}'; choose one of: ${Object.keys(examples).join(', ')}`);
  process.exit(2);
}
await import(path);

export {};
