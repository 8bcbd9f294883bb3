import { bytes, count, metricNames } from '../runtime/metrics';

export const appendMetrics = {
  appended(retries: number): void {
    if (retries > 0) count(metricNames.appendRetries, retries);
  },
  conflict(): void {
    count(metricNames.appendConflicts);
  },
  produced(records: number, size: number): void {
    count(metricNames.recordsProduced, records);
    bytes(metricNames.bytesProduced, size);
  },
  fetched(records: number, size: number): void {
    count(metricNames.recordsFetched, records);
    bytes(metricNames.bytesFetched, size);
  },
  longPollWaited(): void {
    count(metricNames.longPollWaits);
  },
};
