/**
 * Where a test run writes what it reports: under reports/, which git ignores, so `npm test` leaves the tree
 * as it found it. `npm run publish:reports` (scripts/publish-reports.js) copies them into tracked files.
 */
const { join } = require('node:path');

const REPORTS_DIR = join(__dirname, '..', 'reports');

module.exports = {
  REPORTS_DIR,
  /** The fault suite's and the failover suite's tables (latest.*, failover.*). */
  FAULT_REPORTS_DIR: join(REPORTS_DIR, 'faults'),
  /** The dashboard-query check's per-panel table (scripts/ci/check-dashboards.js --report). */
  DASHBOARD_REPORT: join(REPORTS_DIR, 'dashboard-check.md'),
};
