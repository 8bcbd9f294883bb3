import { sweepRetention } from '../shared/log/retention';
import { logger } from '../shared/runtime/logger';
import { flushMetrics } from '../shared/runtime/metrics';

/** EventBridge-scheduled: applies retention and purges deleted topics (shared/log/retention.ts). */
export const handler = async (): Promise<void> => {
  const report = await sweepRetention();
  logger.info('Retention sweep done', { ...report });
  flushMetrics();
};
