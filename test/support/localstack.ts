/**
 * The LocalStack test backend: with LOGWAY_TEST_BACKEND=localstack the integration suites run
 * against LocalStack (DynamoDB and S3) in a Docker container started by @testcontainers/localstack,
 * instead of the embedded emulators. Without a Docker engine it fails at once, saying what to do.
 */

/** The image the suites are tested with; LocalStack's free edition covers DynamoDB and S3. */
export const localstackImage = 'localstack/localstack:4.4';

export type TestBackend = 'embedded' | 'localstack';

export function testBackend(value = process.env.LOGWAY_TEST_BACKEND): TestBackend {
  if (value === undefined || value === '' || value === 'embedded') return 'embedded';
  if (value === 'localstack') return 'localstack';
  throw new Error(
    `LOGWAY_TEST_BACKEND='${value}' is not a test backend: leave it unset (or 'embedded') for DynamoDB Local + s3rver, or set 'localstack'.`,
  );
}

export class DockerUnavailableError extends Error {
  constructor(detail: string) {
    super(
      'LOGWAY_TEST_BACKEND=localstack runs the integration suites against LocalStack in Docker, but no Docker ' +
        `engine could be reached (testcontainers: ${detail}).\n` +
        'Start Docker (or point DOCKER_HOST at a running engine), or unset LOGWAY_TEST_BACKEND to run the suites ' +
        'against the embedded emulators (DynamoDB Local + s3rver), which need only Java 17.',
    );
    this.name = 'DockerUnavailableError';
  }
}

export interface RunningLocalStack {
  /** One endpoint for every service: LocalStack's edge port. */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** Asks testcontainers for a container runtime; rejects with DockerUnavailableError when there is none. */
export async function requireDocker(
  probe: () => Promise<unknown> = async () => (await import('testcontainers')).getContainerRuntimeClient(),
): Promise<void> {
  try {
    await probe();
  } catch (error) {
    throw new DockerUnavailableError((error as Error).message);
  }
}

export async function startLocalStack(options: { probe?: () => Promise<unknown> } = {}): Promise<RunningLocalStack> {
  await requireDocker(options.probe);
  const { LocalstackContainer } = await import('@testcontainers/localstack');
  const container = await new LocalstackContainer(localstackImage).withEnvironment({ SERVICES: 'dynamodb,s3' }).start();
  return { endpoint: container.getConnectionUri(), stop: async () => void (await container.stop()) };
}
