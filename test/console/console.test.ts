/**
 * The web console in a real browser (Debian's chromium through playwright-core) against this
 * file's local service: the page served by the gateway at /console/, driven as a person would,
 * and every outcome checked against the API itself.
 */
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useTestService } from '../support/local-service';
import { launchBrowser, type TestBrowser } from './browser';

const { http, service } = useTestService();
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

afterEach(async (context) => {
  if (context.task.result?.state === 'fail')
    await page.screenshot({ path: `/tmp/console-test-failure-${context.task.name.replace(/\W+/g, '-')}.png` });
  // Chromium logs each 4xx answer as "Failed to load resource"; those are shown on the page.
  expect(browser.problems.filter((p) => !p.includes('Failed to load resource'))).toEqual([]);
});

/** A fresh load of the console at a route (a hash change alone would keep the page's state). */
const open = async (hash: string) => {
  await page.goto('about:blank');
  await page.goto(`${service().url}/console/#${hash}`);
};

const heading = (name: string) => page.getByRole('heading', { level: 1, name, exact: true });
const alertText = () => page.getByRole('alert').first().textContent();
const rows = (table: string) => page.getByRole('table', { name: table }).locator('tbody tr');
const cellTexts = async (table: string, column: number) =>
  (await rows(table).locator(`td:nth-child(${column}), th:nth-child(${column})`).allTextContents()).map((text) => text.trim());

/** Local wall-clock time as an <input type="datetime-local" step="1"> takes it. */
const localDateTime = (ms: number) => {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};

describe('topics', () => {
  it('serves the console with a strict content security policy, under the Host check', async () => {
    const index = await fetch(`${service().url}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${service().url}/console`, { redirect: 'manual' })).headers.get('location')).toBe('/console/');
    const missing = await fetch(`${service().url}/console/../package.json`);
    expect(missing.status).toBe(404);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${service().url}/console/`);
      request({ host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'attacker.example' } }, (r) => {
        r.resume();
        resolve(r.statusCode!);
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(403);
  });

  it('creates a topic with config from the page and shows its partitions and config', async () => {
    await open('/topics');
    await heading('Topics').waitFor();
    await page.getByRole('button', { name: 'Create topic' }).click();
    await page.getByLabel('Name', { exact: true }).fill('web-orders');
    await page.getByLabel('Partitions', { exact: true }).fill('3');
    await page.getByLabel('cleanup.policy').selectOption('compact');
    await page.getByLabel('retention.ms').fill('3600000');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await heading('web-orders').waitFor();
    await expect.poll(() => rows('Partitions').count()).toBe(3);
    const config = page.getByRole('table', { name: 'Config' });
    await expect.poll(() => config.getByRole('row', { name: /cleanup\.policy/ }).textContent()).toContain('compact');
    expect(await config.getByRole('row', { name: /retention\.ms/ }).textContent()).toContain('3600000');

    const described = await http.get('/v1/topics/web-orders');
    expect(described.body.partitions).toHaveLength(3);
    expect(described.body.config).toMatchObject({ 'cleanup.policy': 'compact', 'retention.ms': 3600000 });

    await open('/topics');
    await expect
      .poll(() =>
        page
          .getByRole('table', { name: 'Topics' })
          .getByRole('row', { name: /web-orders/ })
          .textContent(),
      )
      .toContain('0 records');
  });

  it('shows an error as the API words it', async () => {
    const api = await http.post('/v1/topics', { name: 'web-orders' });
    expect(api.status).toBe(409);
    await open('/topics');
    await page.getByRole('button', { name: 'Create topic' }).click();
    await page.getByLabel('Name', { exact: true }).fill('web-orders');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('alert').waitFor();
    const text = await alertText();
    expect(text).toContain(api.body.error.code);
    expect(text).toContain(api.body.error.message);
    expect(text).toContain('HTTP 409');
  });

  it('deletes a topic only after its name is typed', async () => {
    await http.post('/v1/topics', { name: 'doomed' });
    await open('/topics/doomed');
    await heading('doomed').waitFor();
    await page.getByRole('button', { name: 'Delete topic' }).click();
    const dialog = page.getByRole('dialog');
    const confirm = dialog.getByRole('button', { name: 'Delete topic' });
    expect(await confirm.isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await http.get('/v1/topics/doomed')).status).toBe(200);

    await page.getByRole('button', { name: 'Delete topic' }).click();
    await dialog.getByLabel(/Type doomed to confirm/).fill('doomed');
    await confirm.click();
    await heading('Topics').waitFor();
    expect((await http.get('/v1/topics/doomed')).status).toBe(404);
  });
});

describe('messages', () => {
  const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;

  beforeAll(async () => {
    await http.post('/v1/topics', { name: 'browse', partitions: 2 });
    const json = Array.from({ length: 10 }, (_, i) => ({
      key: `user-${i}`,
      value: { item: `book-${i}`, qty: i },
      headers: [{ key: 'trace', value: `t-${i}` }],
      partition: 0,
      timestamp: t0 + i * 60_000,
    }));
    const produced = await http.post('/v1/topics/browse/records', {
      records: [
        ...json,
        { keyBase64: 'AAH/', valueBase64: '/+7dzA==', partition: 1, timestamp: t0 },
        { value: 'plain text', partition: 1, timestamp: t0 + 1 },
      ],
    });
    expect(produced.status).toBe(200);
  });

  it('browses the latest records of all partitions: JSON formatted, bytes as base64, headers', async () => {
    await open('/topics/browse/messages');
    await page.getByRole('button', { name: 'Load messages' }).click();
    await expect.poll(() => rows('Messages').count()).toBe(12);
    const binary = page.getByRole('table', { name: 'Messages' }).getByRole('row', { name: /\/\+7dzA==/ });
    expect(await binary.textContent()).toContain('base64');
    expect(await binary.textContent()).toContain('AAH/');
    const json = page.getByRole('table', { name: 'Messages' }).getByRole('row', { name: /user-3/ });
    expect(await json.locator('td.value pre').textContent()).toBe(JSON.stringify({ item: 'book-3', qty: 3 }, null, 2));
    expect(await json.locator('td.headers').textContent()).toContain('t-3');
    // Newest first by default.
    expect((await cellTexts('Messages', 4))[0]).toBe('user-9');
  });

  it('searches within what is loaded', async () => {
    await page.getByLabel('Search loaded messages').fill('BOOK-7');
    await expect.poll(() => rows('Messages').count()).toBe(1);
    expect(await page.getByRole('status').filter({ hasText: 'match' }).textContent()).toContain('1 of 12 loaded messages match');
    await page.getByLabel('Search loaded messages').fill('t-2');
    await expect.poll(() => cellTexts('Messages', 4)).toEqual(['user-2']);
    await page.getByLabel('Search loaded messages').fill('plain');
    await expect.poll(() => cellTexts('Messages', 2)).toEqual(['1']);
    await page.getByLabel('Search loaded messages').fill('');
    await expect.poll(() => rows('Messages').count()).toBe(12);
  });

  it('browses one partition from an offset, and from a timestamp', async () => {
    await page.getByLabel('Partition', { exact: true }).selectOption('0');
    await page.getByLabel('Start at').selectOption('offset');
    await page.getByLabel('Offset', { exact: true }).fill('4');
    await page.getByLabel('Records per partition').fill('3');
    await page.getByLabel('Order').selectOption('oldest');
    await page.getByRole('button', { name: 'Load messages' }).click();
    await expect.poll(() => cellTexts('Messages', 2)).toEqual(['4', '5', '6']);
    await page.getByRole('button', { name: /Load more \(3 newer\)/ }).click();
    await expect.poll(() => cellTexts('Messages', 2)).toEqual(['4', '5', '6', '7', '8', '9']);

    await page.getByLabel('Start at').selectOption('timestamp');
    await page.getByLabel('From (local time)').fill(localDateTime(t0 + 5 * 60_000));
    await page.getByLabel('Records per partition').fill('50');
    await page.getByRole('button', { name: 'Load messages' }).click();
    await expect.poll(() => cellTexts('Messages', 2)).toEqual(['5', '6', '7', '8', '9']);
  });

  it('shows the API refusing an offset out of range, in its words', async () => {
    const api = await http.get('/v1/topics/browse/partitions/0/records?offset=999');
    expect(api.status).toBe(416);
    await page.getByLabel('Start at').selectOption('offset');
    await page.getByLabel('Offset', { exact: true }).fill('999');
    await page.getByRole('button', { name: 'Load messages' }).click();
    await page.getByRole('alert').waitFor();
    expect(await alertText()).toContain(`OFFSET_OUT_OF_RANGE ${api.body.error.message}`);
  });

  it('produces a message with key, headers and partition from the page', async () => {
    await open('/topics/browse/messages');
    await page.getByRole('button', { name: /Produce a message/ }).click();
    await page.getByLabel('Partition', { exact: true }).first().selectOption('1');
    await page.getByLabel(/^Key/).fill('from-page');
    await page.getByLabel(/^Value/).fill('{"hello":"page"}');
    await page.getByLabel(/^Headers/).fill('trace: abc\nsource: console');
    await page.getByRole('button', { name: 'Produce', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Produced' }).waitFor();
    expect(await page.getByRole('status').filter({ hasText: 'Produced' }).textContent()).toBe('Produced to partition 1 at offset 2.');
    await page
      .getByRole('table', { name: 'Messages' })
      .getByRole('row', { name: /from-page/ })
      .waitFor();

    const fetched = await http.get('/v1/topics/browse/partitions/1/records?offset=2');
    expect(fetched.body.records[0]).toMatchObject({
      key: 'from-page',
      value: '{"hello":"page"}',
      headers: [
        { key: 'trace', value: 'abc' },
        { key: 'source', value: 'console' },
      ],
    });
  });

  it('produces binary bytes given as base64, shown back as base64', async () => {
    await page.getByLabel(/^Headers/).fill('');
    await page.getByLabel('Value is base64 (binary bytes)').check();
    await page.getByLabel(/^Value \(base64/).fill('3q2+7w==');
    await page.getByRole('button', { name: 'Produce', exact: true }).click();
    await expect
      .poll(() => page.getByRole('status').filter({ hasText: 'Produced' }).textContent())
      .toBe('Produced to partition 1 at offset 3.');
    const row = page.getByRole('table', { name: 'Messages' }).getByRole('row', { name: /3q2\+7w==/ });
    expect(await row.textContent()).toContain('base64');
    expect((await http.get('/v1/topics/browse/partitions/1/records?offset=3')).body.records[0]).toMatchObject({
      key: 'from-page',
      valueBase64: '3q2+7w==',
    });
    await page.getByLabel('Value is base64 (binary bytes)').uncheck();
  });

  it('refuses a malformed header line before sending anything', async () => {
    await page.getByLabel(/^Headers/).fill('no colon here');
    await page.getByRole('button', { name: 'Produce', exact: true }).click();
    expect(await alertText()).toContain("Header line 1 ('no colon here') needs the form name: value.");
    expect((await http.get('/v1/topics/browse')).body.partitions[1].highWatermark).toBe(4);
  });

  it('live tail follows new records as they are produced, until stopped', async () => {
    await open('/topics/browse/messages');
    await page.getByRole('button', { name: 'Start live tail' }).click();
    await page.getByRole('status').filter({ hasText: 'waiting for new records' }).waitFor();
    await http.post('/v1/topics/browse/records', { records: [{ key: 'tailed-1', value: 'first', partition: 0 }] });
    await page
      .getByRole('table', { name: 'Messages' })
      .getByRole('row', { name: /tailed-1/ })
      .waitFor({ timeout: 5000 });
    await http.post('/v1/topics/browse/records', { records: [{ key: 'tailed-2', value: 'second', partition: 1 }] });
    await page
      .getByRole('table', { name: 'Messages' })
      .getByRole('row', { name: /tailed-2/ })
      .waitFor({ timeout: 5000 });
    expect(await page.getByRole('status').filter({ hasText: 'live tail' }).textContent()).toContain('2 new');
    // Newest first, after what was loaded on arrival.
    expect((await cellTexts('Messages', 4)).slice(0, 3)).toEqual(['tailed-2', 'tailed-1', 'from-page']);
    await page.getByRole('button', { name: 'Stop live tail' }).click();
    await page.getByRole('button', { name: 'Start live tail' }).waitFor();
  });
});

describe('consumer groups', () => {
  beforeAll(async () => {
    await http.post('/v1/topics', { name: 'billed', partitions: 2 });
    const records = Array.from({ length: 7 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 }));
    await http.post('/v1/topics/billed/records', { records });
    expect((await http.post('/v1/groups/web-billing/reset-offsets', { topic: 'billed', to: 'latest' })).status).toBe(200);
  });

  const totalLag = () => page.getByTestId('total-lag').textContent();

  it('lists groups with their state', async () => {
    await open('/groups');
    await page
      .getByRole('table', { name: 'Consumer groups' })
      .getByRole('row', { name: /web-billing/ })
      .waitFor();
    expect(
      await page
        .getByRole('table', { name: 'Consumer groups' })
        .getByRole('row', { name: /web-billing/ })
        .textContent(),
    ).toContain('Empty');
  });

  it("resets an empty group's offsets and shows the lag change", async () => {
    await page.getByRole('link', { name: 'web-billing' }).click();
    await heading('web-billing').waitFor();
    await expect.poll(totalLag).toBe('0');
    await page.getByLabel('Topic', { exact: true }).selectOption('billed');
    await page.getByLabel('Reset to').selectOption('earliest');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await page.getByRole('status').filter({ hasText: 'Reset billed' }).waitFor();
    await expect.poll(totalLag).toBe('7');
    expect(await cellTexts('Offsets and lag', 6)).toEqual(['4', '3']);

    await page.getByLabel('Reset to').selectOption('offset');
    await page.getByLabel('Offset (clamped to each partition)').fill('2');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await expect.poll(totalLag).toBe('3');
    const described = await http.get('/v1/groups/web-billing');
    expect(described.body.partitions.map((p: { lag: number }) => String(p.lag))).toEqual(await cellTexts('Offsets and lag', 6));
    expect(described.body.partitions.map((p: { committedOffset: number }) => p.committedOffset)).toEqual([2, 2]);

    await page.getByLabel('Reset to').selectOption('latest');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await expect.poll(totalLag).toBe('0');
  });

  it('watches lag change while auto-refresh is on', async () => {
    await page.getByLabel(/Refresh every/).check();
    await http.post('/v1/topics/billed/records', {
      records: [
        { value: 'more', partition: 0 },
        { value: 'more', partition: 1 },
      ],
    });
    await expect.poll(totalLag, { timeout: 8_000 }).toBe('2');
    await page.getByLabel(/Refresh every/).uncheck();
  });

  it('opens a group that does not exist yet, and creates it by resetting its offsets', async () => {
    await open('/groups');
    await page.getByLabel('Group id').fill('brand-new');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await heading('brand-new').waitFor();
    const api = await http.get('/v1/groups/brand-new');
    expect(await alertText()).toContain(`${api.body.error.code} ${api.body.error.message}`);
    await page.getByLabel('Topic', { exact: true }).selectOption('billed');
    await page.getByLabel('Reset to').selectOption('earliest');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await expect.poll(totalLag).toBe('9');
    expect(await page.getByRole('alert').count()).toBe(0);
  });

  it('shows members and assignments, and the API refusing to reset a group with members', async () => {
    const joined = await http.post('/v1/groups/web-billing/heartbeat', {
      memberEpoch: 0,
      memberId: 'console-test-member',
      subscribedTopics: ['billed'],
    });
    expect(joined.status).toBe(200);
    await open('/groups/web-billing');
    await expect.poll(() => page.getByRole('table', { name: 'Members' }).textContent()).toContain('console-test-member');
    expect(await page.getByRole('table', { name: 'Members' }).textContent()).toContain('billed: 0, 1');
    expect(await page.getByTestId('group-state').textContent()).not.toBe('Empty');

    const api = await http.post('/v1/groups/web-billing/reset-offsets', { topic: 'billed', to: 'earliest' });
    expect(api.status).toBe(409);
    await page.getByLabel('Reset to').selectOption('earliest');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await page.getByRole('alert').waitFor();
    expect(await alertText()).toContain(`${api.body.error.code} ${api.body.error.message}`);
    await http.post('/v1/groups/web-billing/heartbeat', { memberEpoch: -1, memberId: 'console-test-member' });
  });
});

describe('triggers, keyboard, layout', () => {
  it('shows triggers, or that this service has none to show', async () => {
    const api = await http.get('/v1/triggers');
    await open('/triggers');
    await heading('Triggers').waitFor();
    if (api.status === 404) {
      await page.getByText('Triggers are not available on this service.').waitFor();
      expect(await page.getByRole('alert').count()).toBe(0);
    } else {
      expect(api.status).toBe(200);
      await page.getByRole('button', { name: 'Refresh' }).waitFor();
      await expect
        .poll(async () => (await page.getByRole('table', { name: 'Triggers' }).count()) + (await page.getByText('No triggers.').count()))
        .toBe(1);
    }
  });

  it("renders a trigger's status and, per partition, position, lag and last error", async () => {
    // The triggers API's shape (GET /v1/triggers, GET /v1/triggers/{name}), answered by the page's
    // network layer, so this holds whether or not this service has triggers yet.
    const trigger = { name: 'mailer', topic: 'browse', functionName: 'send-mail', enabled: true, batchSize: 100 };
    await page.route('**/v1/triggers', (route) => route.fulfill({ json: { triggers: [trigger] } }));
    await page.route('**/v1/triggers/mailer', (route) =>
      route.fulfill({
        json: {
          ...trigger,
          partitions: [
            { partition: 0, position: 7, highWatermark: 10, lag: 3 },
            { partition: 1, position: 2, highWatermark: 2, lag: 0, lastError: { code: 'FUNCTION_ERROR', message: 'Unhandled: boom' } },
          ],
        },
      }),
    );
    try {
      await open('/triggers');
      await page
        .getByRole('table', { name: 'Triggers' })
        .getByRole('row', { name: /mailer/ })
        .waitFor();
      expect(
        await page
          .getByRole('table', { name: 'Triggers' })
          .getByRole('row', { name: /mailer/ })
          .textContent(),
      ).toContain('Enabled');
      await page.getByRole('link', { name: 'mailer' }).click();
      await heading('mailer').waitFor();
      await rows('Trigger partitions').first().waitFor();
      expect(await cellTexts('Trigger partitions', 4)).toEqual(['3', '0']);
      expect(await cellTexts('Trigger partitions', 5)).toEqual(['none', 'FUNCTION_ERROR: Unhandled: boom']);
      expect(await page.locator('dl.facts').textContent()).toContain('send-mail');
    } finally {
      await page.unrouteAll();
    }
  });

  it('is usable from the keyboard: skip link, navigation, focus visible', async () => {
    await open('/topics');
    await heading('Topics').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent?.trim()')).toBe('Skip to content');
    for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent?.trim()')).toBe('Consumer groups');
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).toBe('solid');
    await page.keyboard.press('Enter');
    await heading('Consumer groups').waitFor();
  });

  it('labels every control and fits 1280x800 without sideways scrolling', async () => {
    for (const hash of ['/topics', '/topics/browse/messages', '/topics/browse', '/groups/web-billing']) {
      await open(hash);
      await page.locator('h1').waitFor();
      if (hash === '/topics') await page.getByRole('button', { name: 'Create topic' }).click();
      if (hash.endsWith('messages')) {
        await page.getByRole('button', { name: /Produce a message/ }).click();
        await page.getByRole('button', { name: 'Load messages' }).click();
        await rows('Messages').first().waitFor();
      }
      await page.waitForLoadState('networkidle');
      const unlabelled = await page.evaluate<string[]>(
        `[...document.querySelectorAll('input, select, textarea')]
          .filter((el) => el.labels?.length === 0 && !el.getAttribute('aria-label'))
          .map((el) => el.outerHTML)`,
      );
      expect(unlabelled, hash).toEqual([]);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      expect(overflow, hash).toBeLessThanOrEqual(0);
    }
  });
});
