/**
 * Takes the console screenshots of docs/ at 1280x800 against a running Logway that has data:
 *   npx tsx console/screenshots.ts http://127.0.0.1:8080 [topic] [outDir]
 * Uses Debian's chromium (apt-get install -y chromium), through playwright-core.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from './chromium';

async function main(): Promise<void> {
  const [base = 'http://127.0.0.1:8080', topic = 'orders', outDir = 'docs'] = process.argv.slice(2);
  const profile = mkdtempSync(join(tmpdir(), 'logway-shots-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    viewport: { width: 1280, height: 800 },
  });
  try {
    const page = await context.newPage();
    await page.goto(`${base}/console/#/topics`);
    await page.getByRole('table', { name: 'Topics' }).waitFor();
    await page.screenshot({ path: resolve(outDir, 'console-topics.png') });
    await page.goto(`${base}/console/#/topics/${encodeURIComponent(topic)}/messages`);
    // The page loads the latest records on arrival.
    await page.getByRole('table', { name: 'Messages' }).waitFor();
    await page.getByRole('button', { name: 'Load messages' }).waitFor();
    await page.screenshot({ path: resolve(outDir, 'console-messages.png') });
    for (const extra of process.argv.slice(5)) {
      await page.goto(`${base}/console/${extra}`);
      await page.waitForTimeout(800);
      await page.screenshot({ path: resolve('/tmp', `console-${extra.replace(/\W+/g, '_')}.png`) });
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
