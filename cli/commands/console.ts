/**
 * logway console: the web console for any Logway endpoint. A proxy on 127.0.0.1 serves the
 * console's files and forwards its API calls to --url, signed with your AWS credentials (SigV4)
 * unless the endpoint is local; the browser never sees the credentials.
 */
import { Command } from 'commander';
import { defaultAuthFor, regionFor, sigv4Signer } from '../../client/src/auth';
import { startConsoleProxy } from '../../console/proxy';
import { action, type GlobalOptions } from '../context';
import { parseInteger } from '../output';

export const defaultConsolePort = 8089;

export function consoleCommand(): Command {
  return new Command('console')
    .description('serve the web console on 127.0.0.1 for the endpoint given by --url, signing its calls with your AWS credentials')
    .option('--port <port>', 'local port of the console (0: any free port)', parseInteger('port'), defaultConsolePort)
    .action(
      action(async (options: { port: number }, command: Command) => {
        const globals = command.optsWithGlobals<GlobalOptions>();
        const apiUrl = new URL(globals.url);
        const auth = !globals.auth || globals.auth === 'auto' ? defaultAuthFor(apiUrl) : globals.auth;
        const signer = auth === 'sigv4' ? sigv4Signer(regionFor(apiUrl, globals.region)) : undefined;
        // Resolved to the repository's build (made on demand) or, in the published package, its copy.
        const { consoleFilesDir } = await import('../../console/assets');
        const proxy = await startConsoleProxy({
          apiUrl: apiUrl.href,
          filesDir: await consoleFilesDir(),
          port: options.port,
          ...(signer ? { signer } : {}),
        });
        process.stdout.write(
          `Logway console: ${proxy.url}/console/\n  API:  ${apiUrl.origin}${apiUrl.pathname.replace(/\/$/, '')} (${auth === 'sigv4' ? 'requests signed with your AWS credentials' : 'unsigned'})\n  Ctrl-C stops it.\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => void proxy.stop().then(resolve);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
