/** What every command shares: the connection options and error reporting. */
import type { Command } from 'commander';
import { LogwayApiError } from '../client/src/errors';
import { Logway } from '../client/src/logway';

export interface GlobalOptions {
  url: string;
  auth?: 'none' | 'sigv4' | 'auto';
  region?: string;
}

/** A command line should answer promptly when the service is down: a few quick retries, not the library's patient ones. */
const cliRetry = { retries: 4, initialRetryTimeMs: 100, maxRetryTimeMs: 2000 };

export function clientFor(command: Command): Logway {
  const options = command.optsWithGlobals<GlobalOptions>();
  return new Logway({
    url: options.url,
    auth: options.auth ?? 'auto',
    retry: cliRetry,
    ...(options.region ? { region: options.region } : {}),
  });
}

/** Prints an error the way every command does: the server's code and message (and a hint for API Gateway's own answers) on stderr; exit status 1. */
export function reportError(error: unknown): void {
  if (error instanceof LogwayApiError) {
    process.stderr.write(`Error [${error.code}]: ${error.message}\n`);
    if (error.hint) process.stderr.write(`  ${error.hint}.\n`);
  } else {
    process.stderr.write(`Error: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exitCode = 1;
}

/** Wraps a command action: errors are reported, not thrown. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await fn(...args);
    } catch (error) {
      reportError(error);
    }
  };
}
