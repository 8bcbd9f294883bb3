/**
 * The Kafka listener's settings from the environment, one reading for `npm start` and the
 * container entrypoint (infra/kafka-gateway/main.ts):
 * - KAFKA_ADVERTISED_HOST, KAFKA_ADVERTISED_PORT: the one broker address put in Metadata and
 *   FindCoordinator (behind a load balancer, its name and listener port). Default: the listener's.
 * - KAFKA_SASL_USERS or KAFKA_SASL_SECRET_PREFIX: require SASL/SCRAM with these users
 *   (shared/kafka/users.ts). Default: no authentication.
 * - KAFKA_APPENDS_PER_PARTITION: Produce appends to one partition run at once by this process, the
 *   rest queued in arrival order; 0 for no limit. Default: 4 (`produceAppendsPerPartition`).
 */
import type { KafkaServerOptions } from './server';
import { userStoreFromEnv } from './users';

export class ListenerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenerConfigError';
  }
}

export function kafkaListenerEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<KafkaServerOptions, 'advertisedHost' | 'advertisedPort' | 'sasl' | 'appendsPerPartition'> {
  const host = env.KAFKA_ADVERTISED_HOST?.trim();
  const portText = env.KAFKA_ADVERTISED_PORT?.trim();
  if (host !== undefined && host !== '' && !/^[A-Za-z0-9.:-]+$/.test(host)) {
    throw new ListenerConfigError(`KAFKA_ADVERTISED_HOST=${host} is not a host name or address.`);
  }
  let port: number | undefined;
  if (portText) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new ListenerConfigError(`KAFKA_ADVERTISED_PORT=${portText} is not a port (1-65535).`);
  }
  const appendsText = env.KAFKA_APPENDS_PER_PARTITION?.trim();
  const appendsPerPartition = appendsText ? Number(appendsText) : undefined;
  if (appendsPerPartition !== undefined && (!Number.isInteger(appendsPerPartition) || appendsPerPartition < 0))
    throw new ListenerConfigError(
      `KAFKA_APPENDS_PER_PARTITION=${appendsText} is not a whole number: the chunk writes per partition at a time (0: no group commit).`,
    );
  const store = userStoreFromEnv(env);
  return {
    ...(appendsPerPartition !== undefined ? { appendsPerPartition } : {}),
    ...(host ? { advertisedHost: host } : {}),
    ...(port !== undefined ? { advertisedPort: port } : {}),
    ...(store ? { sasl: { store } } : {}),
  };
}
