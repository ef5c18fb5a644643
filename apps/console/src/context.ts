import { TaskqClient, TaskqHttpError } from '@app/client';

/** What every page gets: the client for the signed-in credential, and whether it may act. */
export interface Ctx {
  client: TaskqClient;
  /** Whether the credential may act (admin): read-only credentials see no action buttons. */
  admin: boolean;
}

/** The key lives in this tab's session storage only: entered once, gone when the tab closes. */
export const KEY_STORAGE = 'taskq.apiKey';
/** One request per page per this many ms (the page's own listing), never one per row. */
export const POLL_MS = 2000;
/** The queues' hour of history (one request per queue) changes by the minute: read it this often. */
export const HISTORY_POLL_MS = 30_000;
export const PAGE_SIZE = 50;

/** The api this console was served by, with `apiKey`; a 503 is shown (the page polls again), not retried. */
export const clientFor = (apiKey: string) => new TaskqClient({ baseUrl: location.origin, apiKey, retries503: 0 });

export const errorText = (error: unknown) =>
  error instanceof TaskqHttpError ? `${error.status}: ${error.body?.message ?? error.message}` : String(error);
