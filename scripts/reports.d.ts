/** Types of scripts/reports.js: where a test run writes its reports (git-ignored). */
export const REPORTS_DIR: string;
export const FAULT_REPORTS_DIR: string;
export const DASHBOARD_REPORT: string;
