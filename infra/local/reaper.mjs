// Runs a command (DynamoDB Local's JVM) and ends it when the process that started this one dies,
// however it dies. A JVM does not notice its parent's death: after a SIGKILL of `npm start` it
// would keep running, holding its port and the database files under .logway/. The parent holds
// this process's stdin open; the pipe closes when the parent exits for any reason, SIGKILL
// included, and then the command is stopped (SIGTERM, then SIGKILL after a grace period).
//
// Usage: node reaper.mjs <command> [args...]   (stdin: a pipe from the parent)
import { spawn } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node reaper.mjs <command> [args...]');
  process.exit(2);
}
const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
// Shorter than the grace the parent gives this process (emulators.ts stopChild), so the JVM is
// always killed by this process rather than orphaned by its death.
const graceMs = 2000;
let stopping = false;
const stop = (signal = 'SIGTERM') => {
  if (stopping || child.exitCode !== null) return;
  stopping = true;
  child.kill(signal);
  setTimeout(() => child.kill('SIGKILL'), graceMs).unref();
};
process.stdin.on('end', () => stop());
process.stdin.on('close', () => stop());
process.stdin.on('error', () => stop());
process.stdin.resume();
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => stop());
child.on('error', (error) => {
  console.error(`reaper: could not start ${command}: ${error.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
