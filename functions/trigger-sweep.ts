import { logger } from '../shared/runtime/logger';
import { flushMetrics } from '../shared/runtime/metrics';
import { requestWake, sweepWork } from '../shared/triggers/work';

/**
 * EventBridge, once a minute: wakes the dispatcher for any trigger partition with undelivered
 * records and no live lease (through wake-up items in the triggers table and its stream).
 */
export const handler = async (): Promise<void> => {
  const work = await sweepWork();
  if (work.length > 0) logger.info('Trigger sweep found undelivered partitions', { partitions: work.length });
  await requestWake(work);
  flushMetrics();
};
