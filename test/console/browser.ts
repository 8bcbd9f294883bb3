/**
 * One headless Debian chromium per test file, through playwright-core (browsers cannot be
 * downloaded here): a fresh profile, a 1280x800 page, everything removed afterwards.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../../console/chromium';

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console messages and page errors, so a test can check nothing failed unseen. */
  readonly problems: string[];
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `The console's browser tests drive Debian's chromium at ${chromiumPath}, which is missing: apt-get install -y chromium`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'logway-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    args: chromiumArgs,
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  return {
    context,
    page,
    problems,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
