/**
 * Gives a test file its own Logway: tables and bucket under a unique prefix in the shared
 * emulators, and a local gateway on a free port calling the real handlers in-process.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, inject } from 'vitest';
import { api, type Api } from './http';
import { bootstrapLocalResources } from '../../infra/local/bootstrap';
import { startGateway, type HandlerLoader, type RunningGateway } from '../../infra/local/gateway';
import { resetAwsClients } from '../../shared/runtime/aws';

export interface TestService {
  readonly url: string;
  readonly prefix: string;
  readonly gateway: RunningGateway;
  stop(): Promise<void>;
}

/** Creates this file's tables and bucket and points the handlers' environment at them. */
export async function useTestResources(): Promise<{ prefix: string; environment: Record<string, string> }> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dynamodb = inject('dynamodbEndpoint');
  if (!dynamodb) {
    throw new Error('This test file needs the emulators: list it in integrationTests in vitest.config.ts (CONTRIBUTING.md, "Test tiers").');
  }
  const { environment } = await bootstrapLocalResources({ dynamodb, s3: inject('s3Endpoint') }, prefix, {
    embedded: inject('embeddedEmulators'),
  });
  Object.assign(process.env, environment);
  resetAwsClients();
  return { prefix, environment };
}

export async function startTestService(options: { loadHandler?: HandlerLoader } = {}): Promise<TestService> {
  const { prefix } = await useTestResources();
  const gateway = await startGateway({ port: 0, ...(options.loadHandler ? { loadHandler: options.loadHandler } : {}) });
  return {
    url: gateway.url,
    prefix,
    gateway,
    stop: () => gateway.stop(),
  };
}

/**
 * Registers this file's service: started before its tests, stopped after them. `http` can be
 * used in any test (it resolves the URL at call time); `setup` runs once the service is up.
 */
export function useTestService(setup?: (http: Api) => Promise<void>): { readonly http: Api; readonly service: () => TestService } {
  let service: TestService | undefined;
  const http = api(() => {
    if (!service) throw new Error('the test service is not started yet (use it inside a test or hook)');
    return service.url;
  });
  beforeAll(async () => {
    service = await startTestService();
    await setup?.(http);
  });
  afterAll(async () => {
    await service?.stop();
  });
  return { http, service: () => service! };
}
