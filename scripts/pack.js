#!/usr/bin/env node
// Packs the worker library as an npm package, @taskq/worker (dist/packages/taskq-worker-<version>.tgz), that any
// Nest application installs: the worker runtime (libs/worker) with the libs it stands on, compiled by tsc with
// declarations, the @app/* paths made relative (tsc-alias), the queue's Lua scripts beside their loader, and a
// package.json whose dependencies are what the compiled code requires (pinned as this repo pins them) and whose
// peer dependencies are what must be one copy with the application's (Nest, ioredis, class-validator).
//
//   node scripts/pack.js        prints the tarball's path
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'dist', 'packages');
const PKG_DIR = path.join(OUT, 'worker');
const BUILD = path.join(PKG_DIR, 'build');
const TSCONFIG = path.join(ROOT, 'libs', 'worker', 'tsconfig.pack.json');

/** One copy shared with the application: its DI tokens, decorators' metadata and connections are these. */
const PEERS = [
  '@nestjs/common',
  '@nestjs/core',
  'class-transformer',
  'class-validator',
  'ioredis',
  'reflect-metadata',
  'rxjs',
];

const bin = (name) => path.join(ROOT, 'node_modules', '.bin', name);
const run = (file, args) => execFileSync(file, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

function compile() {
  fs.rmSync(PKG_DIR, { recursive: true, force: true });
  run(bin('tsc'), ['-p', TSCONFIG]);
  run(bin('tsc-alias'), ['-p', TSCONFIG]);
  const lua = path.join(ROOT, 'libs', 'queue', 'src', 'scripts', 'lua');
  const target = path.join(BUILD, 'libs', 'queue', 'src', 'scripts', 'lua');
  fs.mkdirSync(target, { recursive: true });
  for (const file of fs.readdirSync(lua).filter((name) => name.endsWith('.lua'))) {
    fs.copyFileSync(path.join(lua, file), path.join(target, file));
  }
}

/**
 * The packages the compiled code requires (`.js`) or its declarations import (`.d.ts`), by name; node:
 * built-ins and relative paths left out.
 */
function importedPackages(extension, pattern) {
  const names = new Set();
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith(extension) && (extension !== '.js' || !entry.name.endsWith('.d.ts'))) {
        for (const [, , spec] of fs.readFileSync(file, 'utf8').matchAll(pattern)) {
          if (spec.startsWith('.') || spec.startsWith('node:')) continue;
          if (spec.startsWith('@app/')) throw new Error(`${file} still imports ${spec}: tsc-alias left a path`);
          names.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
        }
      }
    }
  };
  walk(BUILD);
  return [...names].sort();
}
const REQUIRE = /require\((["'])([^"']+)\1\)/g;
const DECLARATION_IMPORT = /(?:from |import\()(["'])([^"']+)\1/g;

function manifest(root) {
  const pinned = { ...root.devDependencies, ...root.dependencies };
  const dependencies = {};
  const peerDependencies = {};
  for (const name of new Set([...importedPackages('.js', REQUIRE), ...PEERS])) {
    const version = pinned[name];
    if (!version) throw new Error(`${name} is required by the worker library but not a dependency of this repo`);
    if (PEERS.includes(name)) peerDependencies[name] = `^${version.replace(/^[\^~]/, '')}`;
    else dependencies[name] = version;
  }
  // A package the declarations name whose types come from DefinitelyTyped (pg): its @types, or the
  // application's type check fails inside this package.
  for (const name of importedPackages('.d.ts', DECLARATION_IMPORT)) {
    const types = `@types/${name.replace(/^@/, '').replace('/', '__')}`;
    if (pinned[types] && !peerDependencies[name]) dependencies[types] = pinned[types];
  }
  const entry = './build/libs/worker/src/index';
  return {
    name: '@taskq/worker',
    version: root.version,
    description: 'The taskq worker in any NestJS application: TaskqWorkerModule, @TaskHandler, TaskqClientModule',
    license: root.license ?? 'UNLICENSED',
    main: `${entry}.js`,
    types: `${entry}.d.ts`,
    exports: { '.': { types: `${entry}.d.ts`, default: `${entry}.js` }, './package.json': './package.json' },
    files: ['build', 'README.md'],
    engines: root.engines,
    dependencies,
    peerDependencies,
  };
}

function main() {
  const root = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  compile();
  fs.writeFileSync(path.join(PKG_DIR, 'package.json'), `${JSON.stringify(manifest(root), null, 2)}\n`);
  fs.copyFileSync(path.join(ROOT, 'libs', 'worker', 'README.md'), path.join(PKG_DIR, 'README.md'));
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', OUT], {
      cwd: PKG_DIR,
      stdio: ['ignore', 'pipe', 'inherit'],
    }).toString(),
  );
  console.log(path.join(OUT, packed[0].filename));
}

main();
