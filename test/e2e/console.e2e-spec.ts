import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import { TaskqClient } from '@app/client';
import { findChromium } from '../../scripts/find-tools';
import { Stack } from './harness';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'taskq.js');
/** CHROMIUM_PATH, Debian's Chromium (.ci/run installs it when missing) or the macOS app (scripts/find-tools.js). */
const CHROMIUM = findChromium() ?? '/usr/bin/chromium';
/** CONSOLE_SCREENSHOTS=1 writes the README's screenshots (docs/console/); otherwise they go to a temporary directory. */
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? join(ROOT, 'docs', 'console') : mkdtempSync(join(tmpdir(), 'console-'));
const newKey = () => `tq_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('hex')}`;

/**
 * The console at /ui in a real browser (Playwright driving Chromium) against the built api and workers with API
 * keys on; tasks come from the CLI, as an operator's would.
 */
describe('console at /ui in Chromium', () => {
  const admin = newKey();
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let client: TaskqClient;

  function taskq(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env = { PATH: process.env.PATH ?? '', TASKQ_URL: stack.api.url, TASKQ_API_KEY: admin };
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
  }
  const submitted = async (args: string[]) => {
    const run = await taskq(['submit', ...args, '--json']);
    if (run.code !== 0) throw new Error(`taskq submit: ${run.stderr}`);
    return JSON.parse(run.stdout).task_id as string;
  };
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    await stack.startApi();
    client = new TaskqClient({ baseUrl: stack.api.url, apiKey: admin });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.on('dialog', (dialog) => void dialog.accept());
  });
  afterAll(async () => {
    await browser?.close();
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
    if (!process.env.CONSOLE_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
  });

  it('asks for a key once, keeps it in the session, and shows the queues', async () => {
    await page.goto(`${stack.api.url}/ui`);
    await page.fill('input[name=apiKey]', admin);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav >> text=admin');
    expect(await page.evaluate(() => sessionStorage.getItem('taskq.apiKey'))).toBe(admin);
    await page.reload();
    await page.waitForSelector('h2:text("Queues")');
  });

  it('shows a task submitted from the CLI appear and finish, without a reload', async () => {
    await stack.startWorker({ WORKER_QUEUES: 'ui' });
    // Delayed long enough to be seen scheduled on a loaded machine, then queued, run and finished.
    const id = await submitted(['echo', '"from the cli"', '--queue', 'ui', '--delay', '8000']);
    await page.goto(`${stack.api.url}/ui/#/tasks?status=scheduled&queue=ui`);
    await page.waitForSelector(`tr[data-task="${id}"]`);
    await shot('tasks');
    await page.click(`tr[data-task="${id}"] a`);
    await page.waitForSelector('dd[data-field=status]:text("scheduled")');
    await page.waitForSelector('dd[data-field=status]:text("succeeded")', { timeout: 30_000 });
    expect(await page.textContent('pre')).toContain('"from the cli"');
    await shot('task');
  });

  it('requeues a dead task from the dead-letter queue and it succeeds', async () => {
    // A worker that lacks the echo handler dead-letters it (unknown_task_type); one that has it runs the requeue.
    await stack.workers[0].stop('SIGTERM');
    await stack.startWorker({ WORKER_QUEUES: 'ui', DEMO_TASKS: 'false', FAULT_TASKS: 'true' });
    const id = await submitted(['echo', '"dead first"', '--queue', 'ui']);
    expect((await client.wait(id, { timeoutMs: 15_000 })).status).toBe('dead');
    await stack.workers[1].stop('SIGTERM');
    await stack.startWorker({ WORKER_QUEUES: 'ui' });

    await page.goto(`${stack.api.url}/ui/#/dlq?queue=ui`);
    await page.waitForSelector(`tr[data-task="${id}"] >> text=unknown_task_type`);
    await shot('dlq');
    await page.click(`tr[data-task="${id}"] button:text("Requeue")`);
    await page.waitForSelector(`tr[data-task="${id}"]`, { state: 'detached' });
    await page.goto(`${stack.api.url}/ui/#/task/${id}`);
    await page.waitForSelector('dd[data-field=status]:text("succeeded")', { timeout: 20_000 });
  });

  it('pauses and resumes a queue; shows schedules (disable one) and workers', async () => {
    await page.goto(`${stack.api.url}/ui/#/queues`);
    // The hour's charts: the two echo tasks that succeeded, and the dead one (one failed run).
    await page.waitForSelector('tr[data-queue=ui] td.throughput svg[data-total="2"]');
    await page.waitForSelector('tr[data-queue=ui] td.failures svg[data-total="1"]');
    await page.click('tr[data-queue=ui] button:text("Pause")');
    await page.waitForSelector('tr[data-queue=ui] td.state:text("paused")');
    expect((await client.queue('ui')).paused).toBe(true);
    await shot('queues');
    await page.click('tr[data-queue=ui] button:text("Resume")');
    await page.waitForSelector('tr[data-queue=ui] td.state:text("running")');
    expect((await client.queue('ui')).paused).toBe(false);

    expect(
      (await taskq(['schedules', 'add', 'ui-hourly', '--every', '3600000', '--type', 'echo', '--queue', 'ui'])).code,
    ).toBe(0);
    await page.goto(`${stack.api.url}/ui/#/schedules`);
    await page.click('tr[data-schedule=ui-hourly] button:text("Disable")');
    await page.waitForSelector('tr[data-schedule=ui-hourly] td.enabled:text("no")');
    expect((await client.schedule('ui-hourly')).enabled).toBe(false);
    await shot('schedules');

    await page.goto(`${stack.api.url}/ui/#/workers`);
    await page.waitForSelector(`td:text("${(await client.workers())[0].worker_id}")`);
    await shot('workers');
  });

  it('shows a read-only key no action buttons', async () => {
    const reader = await client.createKey({ name: 'ui-reader', scopes: ['read'] });
    const context = await browser.newContext();
    const readOnly = await context.newPage();
    await readOnly.goto(`${stack.api.url}/ui/`);
    await readOnly.fill('input[name=apiKey]', reader.key);
    await readOnly.click('button[type=submit]');
    await readOnly.waitForSelector('nav >> text=read-only');
    await readOnly.waitForSelector('tr[data-queue=ui]');
    expect(await readOnly.locator('main button').count()).toBe(0);
    await readOnly.goto(`${stack.api.url}/ui/#/schedules`);
    await readOnly.waitForSelector('tr[data-schedule=ui-hourly]');
    expect(await readOnly.locator('main button').count()).toBe(0);
    await context.close();
  });
});
