/** The `logway` command line: commands and global options. */
import { Command, Option } from 'commander';
import { defaultUrl } from '../client/src/http';
import { clientVersion } from '../client/src/version';
import { consoleCommand } from './commands/console';
import { consumeCommand } from './commands/consume';
import { devCommand } from './commands/dev';
import { groupsCommand } from './commands/groups';
import { produceCommand } from './commands/produce';
import { topicsCommand } from './commands/topics';

export function buildProgram(): Command {
  return new Command('logway')
    .description("Logway's command line: topics, produce, consume and consumer groups (kcat / kafka-*.sh style)")
    .version(clientVersion, '-V, --version')
    .addOption(new Option('--url <url>', 'the Logway endpoint').env('LOGWAY_URL').default(defaultUrl))
    .addOption(
      new Option('--auth <mode>', 'request signing: none, sigv4, or auto (sigv4 unless the URL is loopback)')
        .choices(['auto', 'none', 'sigv4'])
        .env('LOGWAY_AUTH')
        .default('auto'),
    )
    .addOption(new Option('--region <region>', 'AWS region for SigV4 (default: from the URL, else AWS_REGION)'))
    .showHelpAfterError('(add --help for usage)')
    .addCommand(devCommand())
    .addCommand(topicsCommand())
    .addCommand(produceCommand())
    .addCommand(consumeCommand())
    .addCommand(groupsCommand())
    .addCommand(consoleCommand());
}
