/**
 * The Kafka protocol gateway as a long-running process: the entrypoint of the container image
 * that the ECS Fargate service runs (infra/constructs/kafka-gateway.ts), against real AWS. It
 * reads everything from the environment the task definition sets:
 * - the table and bucket names (LOGWAY_*_TABLE, LOGWAY_BUCKET), as every Lambda function does;
 * - KAFKA_PORT (default 9092) and KAFKA_HOST (default 0.0.0.0): where to listen;
 * - KAFKA_ADVERTISED_HOST / KAFKA_ADVERTISED_PORT: the load balancer's (or custom domain's) name
 *   and TLS port, the single broker every task advertises;
 * - KAFKA_SASL_SECRET_PREFIX (or KAFKA_SASL_USERS): the users (shared/kafka/listener-env.ts);
 * - KAFKA_APPENDS_PER_PARTITION: chunk writes per partition this task runs at once, its group commit (default 1; 0: none).
 * SIGTERM (ECS stopping the task) closes the listener and its connections; clients reconnect
 * through the load balancer to another task.
 */
import { kafkaListenerEnv } from '../../shared/kafka/listener-env';
import { startKafkaServer } from '../../shared/kafka/server';

const log = (level: 'INFO' | 'WARN' | 'ERROR', message: string, details: Record<string, unknown> = {}) =>
  console.log(JSON.stringify({ level, message, timestamp: new Date().toISOString(), service: 'kafka-gateway', ...details }));

async function main(): Promise<void> {
  const port = Number(process.env.KAFKA_PORT ?? 9092);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`KAFKA_PORT=${process.env.KAFKA_PORT} is not a port`);
  const host = process.env.KAFKA_HOST ?? '0.0.0.0';
  const listener = kafkaListenerEnv();
  if (!listener.sasl && process.env.KAFKA_ALLOW_ANONYMOUS !== 'true') {
    throw new Error(
      'Refusing to serve Kafka without authentication: set KAFKA_SASL_SECRET_PREFIX (or KAFKA_SASL_USERS), ' +
        'or KAFKA_ALLOW_ANONYMOUS=true to mean it.',
    );
  }
  const server = await startKafkaServer({ host, port, ...listener, log: (message, details) => log('WARN', message, details) });
  log('INFO', 'listening', {
    host: server.host,
    port: server.port,
    advertised: `${listener.advertisedHost ?? server.host}:${listener.advertisedPort ?? server.port}`,
    sasl: server.sasl,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('INFO', 'stopping', { signal });
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  log('ERROR', 'failed to start', { error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
