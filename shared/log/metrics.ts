/**
 * The log's metrics, by the operation that records them: an append to partitions (also under a
 * Kafka Produce), a produce request, a fetch request. Names and units: shared/runtime/metrics.ts.
 */
import { bytes, count, metricNames } from '../runtime/metrics';

export const appendMetrics = {
  appended(retries: number): void {
    if (retries > 0) count(metricNames.appendRetries, retries);
  },
  conflict(): void {
    count(metricNames.appendConflicts);
  },
};

export const produceMetrics = {
  produced(records: number, size: number): void {
    count(metricNames.recordsProduced, records);
    bytes(metricNames.bytesProduced, size);
  },
};

export const fetchMetrics = {
  fetched(records: number, size: number): void {
    count(metricNames.recordsFetched, records);
    bytes(metricNames.bytesFetched, size);
  },
  longPollWaited(): void {
    count(metricNames.longPollWaits);
  },
};
