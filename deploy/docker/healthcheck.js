// Docker HEALTHCHECK for the taskq image (the slim base has no curl).
//
// One image runs either app, and they serve /health/live on different ports:
//   api    -> PORT          (default 8080)
//   worker -> METRICS_PORT  (default 9101; the worker has no other listener)
// HEALTH_PORT overrides the choice. Otherwise the app is read from PID 1's command
// line (node itself, or docker-init when compose sets `init: true`).
'use strict';
const fs = require('node:fs');

function isWorker() {
  try {
    return fs.readFileSync('/proc/1/cmdline', 'utf8').includes('apps/worker/');
  } catch {
    return false;
  }
}

const env = process.env;
const port = env.HEALTH_PORT || (isWorker() ? env.METRICS_PORT || '9101' : env.PORT || '8080');

fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(2500) })
  .then((res) => process.exit(res.ok ? 0 : 1))
  .catch(() => process.exit(1));
