/** Where the console's built files are, in this repository: console/dist, built on demand. */
export async function consoleFilesDir(): Promise<string> {
  const { ensureConsoleBuilt } = await import('./build');
  return ensureConsoleBuilt();
}
