import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser, BrowserContext, chromium, Page } from 'playwright-core';
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
 * keys on; tasks come from the CLI, as an operator's would. Each test sets up what it needs (its own queue, its own
 * signed-in browser context), so any one runs alone (`-t`) as it runs in the suite.
 */
describe('console at /ui in Chromium', () => {
  const admin = newKey();
  let stack: Stack;
  let browser: Browser;
  let client: TaskqClient;
  let contexts: BrowserContext[] = [];

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
  const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  /** A page of a fresh browser context (its own session storage), dialogs accepted. */
  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    return page;
  }
  /** A fresh page signed in with `key` through the sign-in form; the nav says who it is. */
  async function signedIn(key: string, who: 'admin' | 'read-only'): Promise<Page> {
    const page = await newPage();
    await page.goto(`${stack.api.url}/ui/`);
    await page.fill('input[name=apiKey]', key);
    await page.click('button[type=submit]');
    await page.waitForSelector(`nav >> text=${who}`);
    return page;
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = new Stack({ AUTH_MODE: 'api-key', BOOTSTRAP_ADMIN_KEY: admin });
    await stack.startApi();
    // One worker with the demo tasks for the queues whose tasks must run; the dead-letter test brings its own.
    await stack.startWorker({ WORKER_QUEUES: 'ui-tasks,ui-queues' });
    client = new TaskqClient({ baseUrl: stack.api.url, apiKey: admin });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    contexts = [];
  });
  afterAll(async () => {
    await browser?.close();
    expect(await stack.invariantAll()).toEqual([]);
    await stack.stop();
    if (!process.env.CONSOLE_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
  });

  it('asks for a key once, keeps it in the session, and shows the queues', async () => {
    const page = await newPage();
    await page.goto(`${stack.api.url}/ui`);
    await page.fill('input[name=apiKey]', admin);
    await page.click('button[type=submit]');
    await page.waitForSelector('nav >> text=admin');
    expect(await page.evaluate(() => sessionStorage.getItem('taskq.apiKey'))).toBe(admin);
    await page.reload();
    await page.waitForSelector('h2:text("Queues")');
    await page.waitForSelector('nav >> text=admin');
  });

  it('shows a task submitted from the CLI appear and finish, without a reload', async () => {
    const page = await signedIn(admin, 'admin');
    // Delayed long enough to be seen scheduled on a loaded machine, then queued, run and finished.
    const id = await submitted(['echo', '"from the cli"', '--queue', 'ui-tasks', '--delay', '8000']);
    await page.goto(`${stack.api.url}/ui/#/tasks?status=scheduled&queue=ui-tasks`);
    await page.waitForSelector(`tr[data-task="${id}"]`);
    await shot(page, 'tasks');
    await page.click(`tr[data-task="${id}"] a`);
    await page.waitForSelector('dd[data-field=status]:text("scheduled")');
    await page.waitForSelector('dd[data-field=status]:text("succeeded")', { timeout: 30_000 });
    expect(await page.textContent('pre')).toContain('"from the cli"');
    await shot(page, 'task');
  });

  it('requeues a dead task from the dead-letter queue and it succeeds', async () => {
    // A worker that lacks the echo handler dead-letters it (unknown_task_type); one that has it runs the requeue.
    const lacking = await stack.startWorker({ WORKER_QUEUES: 'ui-dlq', DEMO_TASKS: 'false', FAULT_TASKS: 'true' });
    const id = await submitted(['echo', '"dead first"', '--queue', 'ui-dlq']);
    expect((await client.wait(id, { timeoutMs: 15_000 })).status).toBe('dead');
    await lacking.stop('SIGTERM');
    await stack.startWorker({ WORKER_QUEUES: 'ui-dlq' });

    const page = await signedIn(admin, 'admin');
    await page.goto(`${stack.api.url}/ui/#/dlq?queue=ui-dlq`);
    await page.waitForSelector(`tr[data-task="${id}"] >> text=unknown_task_type`);
    await shot(page, 'dlq');
    await page.click(`tr[data-task="${id}"] button:text("Requeue")`);
    await page.waitForSelector(`tr[data-task="${id}"]`, { state: 'detached' });
    await page.goto(`${stack.api.url}/ui/#/task/${id}`);
    await page.waitForSelector('dd[data-field=status]:text("succeeded")', { timeout: 20_000 });
  });

  it('pauses and resumes a queue; shows schedules (disable one) and workers', async () => {
    // The hour's charts of this queue: two echo tasks that succeeded, one that died on its first run.
    for (const [args, exitCode] of [
      [['echo', '1'], 0],
      [['echo', '2'], 0],
      [['fail', '{}', '--max-retries', '0'], 1],
    ] as const) {
      expect((await taskq(['submit', ...args, '--queue', 'ui-queues', '--wait'])).code).toBe(exitCode);
    }
    const page = await signedIn(admin, 'admin');
    await page.goto(`${stack.api.url}/ui/#/queues`);
    await page.waitForSelector('tr[data-queue=ui-queues] td.throughput svg[data-total="2"]');
    await page.waitForSelector('tr[data-queue=ui-queues] td.failures svg[data-total="1"]');
    await page.click('tr[data-queue=ui-queues] button:text("Pause")');
    await page.waitForSelector('tr[data-queue=ui-queues] td.state:text("paused")');
    expect((await client.queue('ui-queues')).paused).toBe(true);
    await shot(page, 'queues');
    await page.click('tr[data-queue=ui-queues] button:text("Resume")');
    await page.waitForSelector('tr[data-queue=ui-queues] td.state:text("running")');
    expect((await client.queue('ui-queues')).paused).toBe(false);

    const schedule = ['schedules', 'add', 'ui-hourly', '--every', '3600000', '--type', 'echo', '--queue', 'ui-queues'];
    expect((await taskq(schedule)).code).toBe(0);
    await page.goto(`${stack.api.url}/ui/#/schedules`);
    await page.click('tr[data-schedule=ui-hourly] button:text("Disable")');
    await page.waitForSelector('tr[data-schedule=ui-hourly] td.enabled:text("no")');
    expect((await client.schedule('ui-hourly')).enabled).toBe(false);
    await shot(page, 'schedules');

    await page.goto(`${stack.api.url}/ui/#/workers`);
    await page.waitForSelector(`td:text("${(await client.workers())[0].worker_id}")`);
    await shot(page, 'workers');
  });

  it('purges the waiting tasks of a queue from its row, once confirmed with their count', async () => {
    // A queue no worker serves: its tasks wait there until purged.
    const ids = [
      await submitted(['echo', '1', '--queue', 'ui-purge']),
      await submitted(['echo', '2', '--queue', 'ui-purge']),
    ];
    const page = await signedIn(admin, 'admin');
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => void dialogs.push(dialog.message()));
    await page.goto(`${stack.api.url}/ui/#/queues`);
    await page.click('tr[data-queue=ui-purge] button:text("Purge queued")');
    await page.waitForSelector('tr[data-queue=ui-purge] button:text("Purge queued")', { state: 'detached' });
    expect(dialogs).toEqual([
      'Delete the 2 queued tasks of ui-purge for good? They leave no record.',
      'Purged 2 queued tasks of ui-purge',
    ]);
    expect(await client.queue('ui-purge')).toMatchObject({ purged: 2, counts: { queued: 0 } });
    for (const id of ids) await expect(client.get(id)).rejects.toMatchObject({ status: 404 });
  });

  it('shows a read-only key no action buttons', async () => {
    // A queue and a schedule of its own, so each page has a row whose buttons an admin would see.
    await submitted(['echo', '"held"', '--queue', 'ui-read', '--delay', '3600000']);
    await client.createSchedule({
      name: 'ui-read-hourly',
      every_ms: 3_600_000,
      task: { task_type: 'echo', payload: null, queue: 'ui-read' },
    });
    const reader = await client.createKey({ name: 'ui-reader', scopes: ['read'] });
    const readOnly = await signedIn(reader.key, 'read-only');
    await readOnly.waitForSelector('tr[data-queue=ui-read]');
    expect(await readOnly.locator('main button').count()).toBe(0);
    await readOnly.goto(`${stack.api.url}/ui/#/schedules`);
    await readOnly.waitForSelector('tr[data-schedule=ui-read-hourly]');
    // (The pager's Previous and Next are for everyone: the actions are in the rows.)
    expect(await readOnly.locator('main table button').count()).toBe(0);
  });
});
