#!/usr/bin/env node
// Static checks of Dockerfile + .dockerignore (no Docker engine on CI machines, so
// the image is never built there):
// - dockerfile-utils (the linter behind the VS Code Docker extension): syntax,
//   instruction arguments and flags;
// - every COPY source from the build context exists and is not .dockerignore'd;
// - every tracked file the build needs (apps/, libs/, root build config) is in
//   the context;
// - the runtime stage: node 24 base (the LTS line; 20 is past its end of life), non-root USER, HEALTHCHECK, CMD,
//   NODE_OPTIONS=--enable-source-maps (stack traces name the TypeScript source).
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { validate } = require('dockerfile-utils');
const dockerignore = require('@balena/dockerignore');

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const ig = dockerignore({ ignorecase: false }).add(
  fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n'),
);
const errors = [];

for (const d of validate(text)) errors.push(`Dockerfile:${d.range.start.line + 1}: ${d.message}`);

// Logical lines (joined continuations), comments dropped.
const lines = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = [];
for (const l of lines) {
  const [instr, ...rest] = l.split(/\s+/);
  const args = rest.join(' ');
  const op = instr.toUpperCase();
  if (op === 'FROM') stages.push({ from: args, ops: [] });
  else if (stages.length) stages[stages.length - 1].ops.push({ op, args });
  if (op === 'COPY' || op === 'ADD') {
    if (/--from=/.test(args)) continue;
    const parts = args.split(/\s+/).filter((a) => !a.startsWith('--'));
    for (const src of parts.slice(0, -1)) {
      if (src === '.') continue;
      for (const f of src.includes('*') ? [] : [src]) {
        if (!fs.existsSync(path.join(ROOT, f))) errors.push(`COPY ${f}: not in the repository`);
        else if (ig.ignores(f)) errors.push(`COPY ${f}: excluded by .dockerignore`);
      }
    }
  }
}

const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const needed = tracked.filter((f) =>
  /^(apps|libs)\//.test(f)
    ? !/\.(spec|int-spec|e2e-spec)\.ts$/.test(f)
    : /^(package(-lock)?\.json|nest-cli\.json|tsconfig[^/]*\.json|webpack[^/]*\.js)$/.test(f),
);
for (const f of needed) if (ig.ignores(f)) errors.push(`${f} is needed by the build but excluded by .dockerignore`);
if (!needed.some((f) => f.startsWith('apps/'))) errors.push('no tracked file under apps/ (nothing to build?)');

const runtime = stages[stages.length - 1];
if (!runtime) errors.push('no FROM');
else {
  const arg = lines.find((l) => /^ARG NODE_IMAGE=/.test(l));
  const base = runtime.from.replace('${NODE_IMAGE}', arg ? arg.split('=')[1] : '');
  if (!/^node:24[.-]/.test(base.split(/\s/)[0])) errors.push(`runtime base ${base} is not node:24`);
  const users = runtime.ops.filter((o) => o.op === 'USER');
  const user = users.length ? users[users.length - 1].args : 'root';
  if (/^(root|0)(:|$)/.test(user)) errors.push(`runtime stage runs as ${user}`);
  if (!runtime.ops.some((o) => o.op === 'HEALTHCHECK' && /health/.test(o.args)))
    errors.push('runtime stage has no HEALTHCHECK');
  if (!runtime.ops.some((o) => o.op === 'CMD' || o.op === 'ENTRYPOINT')) errors.push('runtime stage has no CMD');
  if (!runtime.ops.some((o) => o.op === 'ENV' && /NODE_OPTIONS=\S*--enable-source-maps/.test(o.args)))
    errors.push('runtime stage does not set NODE_OPTIONS=--enable-source-maps (stack traces would name the bundle)');
  if (!runtime.ops.some((o) => o.op === 'COPY' && /--from=prod-deps/.test(o.args) && /node_modules/.test(o.args)))
    errors.push('runtime stage does not take node_modules from the production-deps stage');
}
if (stages.length < 2) errors.push('not a multi-stage build');
// Base image pinned by digest; no install-time telemetry in any stage that runs npm.
const baseArg = lines.find((l) => /^ARG NODE_IMAGE=/.test(l));
if (!/@sha256:[0-9a-f]{64}$/.test(baseArg ?? '')) errors.push(`base image is not pinned by digest (${baseArg})`);
for (const stage of stages) {
  const installs = stage.ops.some((o) => o.op === 'RUN' && /\bnpm (ci|install)\b/.test(o.args));
  const quiet = stage.ops.some(
    (o) => o.op === 'ENV' && /SCARF_ANALYTICS=false/.test(o.args) && /DO_NOT_TRACK=1/.test(o.args),
  );
  if (installs && !quiet) errors.push(`stage ${stage.from}: npm installs without SCARF_ANALYTICS=false DO_NOT_TRACK=1`);
}

if (errors.length) {
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(
  `OK   Dockerfile: ${stages.length} stages, runtime ${runtime.from} as ${runtime.ops.filter((o) => o.op === 'USER').pop()?.args}; .dockerignore keeps the ${needed.length} build inputs`,
);
