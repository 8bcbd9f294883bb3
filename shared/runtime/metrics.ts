/**
 * Logway's CloudWatch metrics, written as EMF by Powertools: one set of names for the handlers,
 * the dashboard and the alarms. Handlers flush them at the end of each invocation.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

export const metrics = new Metrics({
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Logway',
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'logway',
});

export const metricNames = {
  recordsProduced: 'RecordsProduced',
  bytesProduced: 'BytesProduced',
  recordsFetched: 'RecordsFetched',
  bytesFetched: 'BytesFetched',
  appendConflicts: 'AppendConflicts',
  appendRetries: 'AppendRetries',
  longPollWaits: 'LongPollWaits',
} as const;

export function count(name: (typeof metricNames)[keyof typeof metricNames], value = 1): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

export function bytes(name: (typeof metricNames)[keyof typeof metricNames], value: number): void {
  metrics.addMetric(name, MetricUnit.Bytes, value);
}

/** Writes what the invocation recorded; a no-op when nothing was recorded. */
export function flushMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
}
