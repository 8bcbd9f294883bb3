import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createConnection } from 'node:net';
import { sleep } from '../../shared/runtime/retry';
import { repoRoot } from '../project';

/** Asks the OS for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/** Resolves once something accepts TCP connections on the port, or rejects at the deadline. */
export async function waitForPort(port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process meant to listen on port ${port} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}

/** A started `npm start` (its entry point, infra/local/start.ts) and what it has printed so far. */
export interface SpawnedNpmStart {
  readonly child: ChildProcess;
  output(): string;
}

/**
 * Runs `npm start`'s entry point as a user's `npm start` does: the embedded emulators (the
 * AWS_ENDPOINT_URL* of this process are left out of `env`), stdout and stderr collected.
 */
export function spawnNpmStart(env: NodeJS.ProcessEnv): SpawnedNpmStart {
  const childEnv = { ...env };
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_S3']) delete childEnv[name];
  const child = spawn(process.execPath, ['--import', 'tsx', 'infra/local/start.ts'], {
    cwd: repoRoot,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  return { child, output: () => output };
}
