import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { DASHBOARD_REPORT, FAULT_REPORTS_DIR } from '../../scripts/reports';
import { RESULTS_DIR } from '../faults/harness';

const ROOT = join(__dirname, '..', '..');

/** Whether git ignores `file` (a path in the work tree, existing or not). */
const ignored = (file: string) =>
  spawnSync('git', ['check-ignore', '--quiet', '--no-index', relative(ROOT, file)], { cwd: ROOT }).status === 0;

describe('a test run writes its reports where git does not look (npm run publish:reports publishes them)', () => {
  it('the fault and failover tables go to a git-ignored directory', () => {
    expect(RESULTS_DIR).toBe(FAULT_REPORTS_DIR);
    for (const name of ['latest.md', 'latest.json', 'failover.md', 'failover.json']) {
      expect([name, ignored(join(RESULTS_DIR, name))]).toEqual([name, true]);
    }
  });

  it('the dashboard check report goes to a git-ignored file, not the published docs/deploy/dashboard-check.md', () => {
    expect(ignored(DASHBOARD_REPORT)).toBe(true);
    expect(ignored(join(ROOT, 'docs', 'deploy', 'dashboard-check.md'))).toBe(false);
  });

  it('tells a tracked place from an ignored one (the check can fail)', () => {
    expect(ignored(join(ROOT, 'test', 'faults', 'results', 'latest.md'))).toBe(false);
  });
});
