import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findPostgresBin } from '../../scripts/find-tools';
import { freePort } from './processes';
import { waitFor } from './redis';

const exec = promisify(execFile);

/** The PostgreSQL server binaries (initdb, pg_ctl): TEST_POSTGRES_BIN, Debian's or Homebrew's newest, or PATH. */
function binDir(): string {
  const found = findPostgresBin();
  if (!found) {
    throw new Error(
      'no PostgreSQL server programs (initdb, pg_ctl): apt-get install postgresql, brew install postgresql@17, or set TEST_POSTGRES_BIN',
    );
  }
  return found;
}

/**
 * A PostgreSQL cluster of a test's own (initdb in a temp dir, a free port, trust auth, no fsync), for
 * tests that stop and start the server without touching anyone else's. initdb refuses to run as root,
 * so as root it runs as the `postgres` user the Debian package creates.
 */
export class OwnPostgres {
  private readonly bin = binDir();
  private readonly asRoot = process.getuid?.() === 0;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<OwnPostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'taskq-own-postgres-'));
    const pg = new OwnPostgres(dir, await freePort());
    if (pg.asRoot) {
      const { stdout } = await exec('id', ['-u', 'postgres']);
      const { stdout: gid } = await exec('id', ['-g', 'postgres']);
      chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await pg.run('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    return pg;
  }

  /** The maintenance database's URL (TestDatabase.create's serverUrl). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    await this.run('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitFor(async () => (await this.run('pg_isready', ['-h', '127.0.0.1', '-p', String(this.port)]), true), {
      timeoutMs: 30_000,
      what: 'the own PostgreSQL to accept connections',
    });
  }

  /** Stops the server: `immediate` is a crash (no checkpoint; recovery at the next start), `fast` a clean stop. */
  async stop(mode: 'fast' | 'immediate' = 'immediate'): Promise<void> {
    await this.run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop']);
  }

  get running(): boolean {
    return existsSync(join(this.dir, 'data', 'postmaster.pid'));
  }

  /** The server's log, for a failing test's message. */
  logTail(lines = 30): string {
    const file = join(this.dir, 'server.log');
    return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '';
  }

  async destroy(): Promise<void> {
    if (this.running) await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async run(tool: string, args: string[]): Promise<string> {
    const path = join(this.bin, tool);
    const [cmd, argv] = this.asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    const { stdout } = await exec(cmd, argv, { cwd: this.dir, maxBuffer: 1 << 22 });
    return stdout;
  }
}
