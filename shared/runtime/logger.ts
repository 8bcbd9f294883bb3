import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One structured JSON logger for every handler. Powertools adds the Lambda request id and cold
 * start flag; the level comes from POWERTOOLS_LOG_LEVEL (the local runtime keeps it quiet).
 */
export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'logway',
  logLevel: (process.env.POWERTOOLS_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'INFO') as 'INFO',
});
