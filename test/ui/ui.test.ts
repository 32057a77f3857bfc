/**
 * The web UI in a real browser (Debian's chromium driven by playwright-core) against a real
 * `o3 serve`: submitting through the form, the graph following the run live, a task's log, and
 * cancelling through the dialog. Screenshots go to test-results/ for a person to look at.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/examples.js';
import { call, startO3, type O3Process } from '../helpers/o3-process.js';

// Some functions below run inside the page; the tests' tsconfig has no DOM types, so these are declared here.
declare const window: any, document: any, getComputedStyle: any, MutationObserver: any;

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-results');
const SUCCESS_COLOUR = '#15803d';
const WAIT = { timeout: 10_000, interval: 50 };

let dir: string;
let o3: O3Process;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The UI tests need Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (Debian's package).`,
    );
  }
  dir = mkdtempSync(path.join(tmpdir(), 'o3-ui-'));
  mkdirSync(SHOTS, { recursive: true });
  o3 = await startO3(['--store', `sqlite:${path.join(dir, 'o3.db')}`]);
  // A fresh profile per run: nothing cached or remembered from another run.
  browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1360, height: 900 },
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  o3?.child.kill('SIGTERM');
  await o3?.exited;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A new tab that fails the test on any script error the page raises. */
async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  // Well inside the test's own timeout, so a failure names the selector it waited for.
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(String(error)));
  page.on('console', (message) => {
    // The browser logs every 4xx answer too; the 422s of validation are expected and shown on the page.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(message.text());
  });
  return { page, errors };
}

/** Records every state a graph node shows, with its colour, as the page changes it. */
function recordNodeStates(): void {
  const seen: { task: string; state: string; stroke: string }[] = [];
  const last = new Map<string, string>();
  window.nodeStates = seen;
  const scan = () => {
    for (const node of document.querySelectorAll('svg.dag .dag-node')) {
      const task = node.dataset.task ?? '';
      const state = node.dataset.state ?? '';
      if (last.get(task) === state) continue;
      last.set(task, state);
      // The state's colour itself: the box's computed stroke may be mid-transition.
      seen.push({ task, state, stroke: getComputedStyle(node).getPropertyValue('--state-fg').trim() });
    }
  };
  new MutationObserver(scan).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state'],
  });
}

describe('the web UI', () => {
  it('submits noop_template_run through the form and shows its tasks turning green in dependency order', async () => {
    const { page, errors } = await openPage();
    await page.addInitScript(recordNodeStates);
    await page.goto(`${o3.url}/submit?template=noop_template_run`);
    await page.fill('#field-input-delay', '1');

    // Validating without global_delay: the API's problem is shown at that field, and nothing is submitted.
    await page.click('button:has-text("Validate")');
    const fieldErrors = page.locator('[data-field="field-input-global_delay"] .field-errors');
    await expect.poll(() => fieldErrors.textContent(), WAIT).toContain('${workflow.input.global_delay}');
    expect(await page.getAttribute('#field-input-global_delay', 'aria-invalid')).toBe('true');
    expect(await page.textContent('.submit-form [role="alert"]')).toContain('shown at the fields below');
    await page.fill('#field-input-global_delay', '600');
    await page.fill('#field-name', 'ui noop');
    await page.click('button:has-text("Validate")');
    await page.waitForSelector('text=Valid: this is the plan');
    // From the top: a full-page shot of a scrolled page paints the sticky header mid-page.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: path.join(SHOTS, 'ui-submit.png'), fullPage: true });

    await page.click('button[type="submit"]:has-text("Submit request")');
    await page.waitForURL(/\/requests\/[0-9a-f-]{36}$/);
    const uuid = page.url().split('/').pop()!;
    await page.waitForFunction(
      () =>
        document.querySelectorAll('svg.dag .dag-node[data-state="successful"]').length === 3 &&
        document.querySelector('h1 .badge')?.textContent === 'successful',
      undefined,
      { timeout: 20_000 },
    );

    const seen: { task: string; state: string; stroke: string }[] = await page.evaluate(
      () => window.nodeStates,
    );
    const firstSuccess = (task: string) => seen.findIndex((s) => s.task === task && s.state === 'successful');
    expect(firstSuccess('noop_01')).toBeGreaterThanOrEqual(0);
    expect(firstSuccess('noop_02')).toBeGreaterThanOrEqual(0);
    expect(firstSuccess('noop_03')).toBeGreaterThan(
      Math.max(firstSuccess('noop_01'), firstSuccess('noop_02')),
    );
    // noop_03 was on screen, not yet green, after both of its upstream tasks had turned green: followed live.
    const thirdAfterOthers = seen.slice(Math.max(firstSuccess('noop_01'), firstSuccess('noop_02')) + 1);
    expect(
      thirdAfterOthers.some((s) => s.task === 'noop_03' && ['created', 'running'].includes(s.state)),
    ).toBe(true);
    expect(seen.filter((s) => s.state === 'successful').every((s) => s.stroke === SUCCESS_COLOUR)).toBe(true);
    expect(seen.find((s) => s.task === 'noop_03' && s.state !== 'successful')?.stroke).toMatch(
      /^#[0-9a-f]{6}$/,
    );
    expect(seen.find((s) => s.task === 'noop_03' && s.state !== 'successful')?.stroke).not.toBe(
      SUCCESS_COLOUR,
    );
    const box = page.locator('svg.dag .dag-node[data-task="noop_03"] .dag-node-box');
    await expect
      .poll(() => box.evaluate((element) => getComputedStyle(element).stroke), WAIT)
      .toBe('rgb(21, 128, 61)');

    // The task opens from the keyboard, with its inputs and its log.
    await page.focus('svg.dag .dag-node[data-task="noop_03"]');
    await page.keyboard.press('Enter');
    const panel = page.locator('[data-task-panel="noop_03"]');
    await expect.poll(() => panel.locator('.log').textContent(), WAIT).toContain('generated random number');
    expect(await panel.locator('.log').textContent()).toContain('runtime_delay is 1 s');
    expect(await panel.locator('table[aria-label="Inputs of noop_03"]').textContent()).toContain(
      'runtime_delay',
    );
    expect(page.url()).toContain('task=noop_03');
    await page.screenshot({ path: path.join(SHOTS, 'ui-request.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(SHOTS, 'ui-request-narrow.png'), fullPage: true });
    await page.setViewportSize({ width: 1360, height: 900 });

    await page.click('nav.nav a:has-text("Requests")');
    const row = page.locator(`tr[data-uuid="${uuid}"]`);
    await expect.poll(() => row.locator('.badge').textContent(), WAIT).toBe('successful');
    expect(await row.textContent()).toContain('noop_template_run');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('cancels a long request through the Cancel button and its confirmation', async () => {
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', {
      schema_version: 2,
      workflow: {
        meta: { ref: `ui-cancel-${Date.now()}`, template: 'noop_template_run' },
        vars: { workflow: { input: { delay: 300, global_delay: 600 } } },
      },
    });
    expect(submitted.status).toBe(201);
    const { page, errors } = await openPage();
    await page.goto(`${o3.url}/requests/${submitted.body.uuid}`);
    await page.waitForSelector('svg.dag .dag-node[data-task="noop_01"][data-state="running"]');

    await page.click('.actions button:has-text("Cancel")');
    const dialog = page.locator('dialog[open]');
    await expect.poll(() => dialog.locator('h2').textContent(), WAIT).toContain('Cancel request');
    await dialog.locator('[data-testid="dialog-confirm"]').click();
    await page.waitForFunction(
      () => document.querySelector('h1 .badge')?.textContent === 'canceled',
      undefined,
      {
        timeout: 15_000,
      },
    );
    expect(await page.locator('svg.dag .dag-node[data-task="noop_03"]').getAttribute('data-state')).toBe(
      'canceled',
    );
    expect(await page.locator('.actions button:has-text("Cancel")').isDisabled()).toBe(true);
    expect((await call(o3, 'GET', `/api/v1/workflow/${submitted.body.uuid}`)).body.status).toBe('canceled');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a request with a secret input without ever showing the secret', async () => {
    const secret = 'tok-9f8e7d6c5b4a';
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', {
      schema_version: 2,
      workflow: {
        meta: { ref: `ui-secret-${Date.now()}`, template: 'awx_job_template_run' },
        // Port 9 on loopback refuses at once: the task fails fast, with the token in its inputs.
        vars: {
          workflow: {
            input: { awx_url: 'http://127.0.0.1:9', awx_token: secret, job_template_id: 7, extra_vars: {} },
          },
        },
      },
    });
    expect(submitted.status).toBe(201);
    const { page } = await openPage();
    const bodies: string[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/'))
        void response.text().then(
          (text) => bodies.push(text),
          () => {},
        );
    });
    await page.goto(`${o3.url}/requests/${submitted.body.uuid}?task=launch_job_template`);
    const inputs = page.locator('table[aria-label="Inputs of launch_job_template"]');
    await expect.poll(() => inputs.textContent(), WAIT).toContain('awx_token');
    expect(await inputs.textContent()).toContain('***');
    await page.click('.actions button:has-text("Revise")');
    await expect.poll(() => page.inputValue('#revise-body'), WAIT).toContain('"vars"');
    expect(await page.textContent('dialog[open]')).toContain('awx_token');
    expect(await page.content()).not.toContain(secret);
    expect(await page.inputValue('#revise-body')).not.toContain(secret);
    expect(bodies.join('\n')).not.toContain(secret);
    await page.close();
  });

  it('lists the requests live, filtered by status and found by exact ref', async () => {
    const long = await call(o3, 'POST', '/api/v1/workflow/submit', {
      schema_version: 2,
      workflow: {
        meta: { ref: `ui-list-canceled-${Date.now()}`, template: 'noop_template_run' },
        vars: { workflow: { input: { delay: 300, global_delay: 600 } } },
      },
    });
    expect((await call(o3, 'POST', `/api/v1/workflow/${long.body.uuid}/cancel`)).status).toBe(202);
    const { page, errors } = await openPage();
    await page.goto(o3.url);
    await page.waitForSelector(`tr[data-uuid="${long.body.uuid}"]`);
    const rows = page.locator('table[aria-label="Requests"] tbody tr');
    const before = await rows.count();

    // A request submitted elsewhere shows up without a reload.
    const ref = `ui-list-${Date.now()}`;
    const submitted = await call(o3, 'POST', '/api/v1/workflow/submit', {
      schema_version: 2,
      workflow: {
        meta: { ref, name: 'appears live', template: 'noop_template_run' },
        vars: { workflow: { input: { delay: 0, global_delay: 600 } } },
      },
    });
    await page.waitForSelector(`tr[data-uuid="${submitted.body.uuid}"]`);
    await page.screenshot({ path: path.join(SHOTS, 'ui-list.png'), fullPage: true });

    await page.selectOption('#filter-status', 'canceled');
    await expect
      .poll(async () => new Set(await rows.locator('.badge').allTextContents()), WAIT)
      .toEqual(new Set(['canceled']));
    expect(await page.locator(`tr[data-uuid="${long.body.uuid}"]`).count()).toBe(1);
    expect(page.url()).toContain('status=canceled');

    await page.selectOption('#filter-status', '');
    await page.fill('#filter-q', ref);
    await page.press('#filter-q', 'Enter');
    await expect.poll(() => rows.count(), WAIT).toBe(1);
    expect(await rows.first().getAttribute('data-uuid')).toBe(submitted.body.uuid);

    await page.setViewportSize({ width: 390, height: 844 });
    await page.click('button:has-text("Clear filters")');
    await expect.poll(() => rows.count(), WAIT).toBe(before + 1);
    await page.screenshot({ path: path.join(SHOTS, 'ui-list-narrow.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});
