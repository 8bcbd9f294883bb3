/** `logway dev` in the published package: the local runtime lives in the repository, not in the package. */
export async function runDev(_options: { port: number; dataDir: string }): Promise<void> {
  process.stderr.write(
    [
      'logway dev runs the local service, which lives in the Logway repository (it needs its emulators and Java 17+):',
      '',
      '  git clone <the Logway repository> logway && cd logway',
      '  npm ci',
      '  npm start            # or: npx logway dev',
      '',
      'It listens on http://127.0.0.1:8080, which is where this CLI connects by default (--url or LOGWAY_URL to change).',
      '',
    ].join('\n'),
  );
  process.exitCode = 1;
}
