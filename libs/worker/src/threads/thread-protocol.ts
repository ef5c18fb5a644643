/**
 * What crosses between the worker's event loop and a worker thread (structured clone, both ways). Kept
 * free of Nest and of the worker's other modules: thread-entry.ts is bundled on its own.
 */

/** What a thread-isolated handler gets besides its payload: the run's identity. */
export interface ThreadTaskContext {
  readonly taskId: string;
  readonly taskType: string;
  readonly queue: string;
  /** 1 for the first run. */
  readonly attempt: number;
  readonly maxRetries: number;
  // No AbortSignal: a timeout, a cancel, a lost lease or the end of shutdown's grace terminates the thread.
}

/** The function a `*.thread.ts` module exports: the payload (plain JSON data) in, a JSON-serializable result out. */
export type ThreadTaskFunction<P = any, R = unknown> = (payload: P, context: ThreadTaskContext) => R | Promise<R>;

export type ThreadRequest =
  /** Loads the module and checks its export is a function (the boot check). */
  | { kind: 'load'; file: string; exportName: string }
  | { kind: 'run'; file: string; exportName: string; payload: unknown; context: ThreadTaskContext };

/** A value the handler threw: an Error as its parts, anything else as itself (or its text, if it cannot be cloned). */
export type ThrownInThread =
  | { kind: 'error'; name: string; message: string; stack?: string; nonRetryable: boolean }
  | { kind: 'value'; value: unknown };

export type ThreadReply =
  /** `json` is JSON.stringify(result ?? null), done in the thread; `unserializable` is why it threw instead. */
  { ok: true; json: string } | { ok: true; unserializable: string } | { ok: false; thrown: ThrownInThread };
