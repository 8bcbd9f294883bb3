import { logger } from '../shared/runtime/logger';
import { flushMetrics } from '../shared/runtime/metrics';
import { handOn, sweepWork } from '../shared/triggers/work';

/** EventBridge, once a minute: hands the dispatcher any trigger partition with undelivered records and no live lease. */
export const handler = async (): Promise<void> => {
  const work = await sweepWork();
  if (work.length > 0) logger.info('Trigger sweep found undelivered partitions', { partitions: work.length });
  await handOn(work);
  flushMetrics();
};
