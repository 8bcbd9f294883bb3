/** Entry point of the `logway` CLI. */
import { buildProgram } from './program';
import { reportError } from './context';

// `logway consume ... | head` closes stdout early: stop quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

buildProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => reportError(error));
