/** logway dev: the local service (what `npm start` runs), in this process. */
import { Command } from 'commander';
import { action } from '../context';
import { parseInteger } from '../output';

export function devCommand(): Command {
  return new Command('dev')
    .description('run Logway locally (DynamoDB Local + S3 emulator + the local gateway), as npm start does')
    .option('--port <port>', 'port of the local gateway (env PORT)', parseInteger('port'), Number(process.env.PORT ?? 8080))
    .option('--data-dir <dir>', 'data folder, kept across restarts (env LOGWAY_DATA_DIR)', process.env.LOGWAY_DATA_DIR ?? '.logway')
    .action(
      action(async (options: { port: number; dataDir: string }) => {
        // Resolved to the repository's runtime, or (in the published package) to instructions.
        const { runDev } = await import('../dev-runtime');
        await runDev(options);
      }),
    );
}
