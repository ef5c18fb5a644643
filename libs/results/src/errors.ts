/** Why a result store call failed: PostgreSQL away (503 in the api), or anything else (a bug, logged). */
export type ResultStoreErrorCode = 'unavailable' | 'not_configured' | 'failed';

export class ResultStoreError extends Error {
  constructor(
    readonly code: ResultStoreErrorCode,
    readonly op: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ResultStoreError';
  }
}

/**
 * SQLSTATE classes and client errors that mean "PostgreSQL is not answering as it should right now":
 * connection failures and shutdowns (08, 57P01-57P03), too many connections (53300), a cancelled
 * statement (57014, statement_timeout), a row lock another writer held past lock_timeout (55P03) or a
 * deadlock (40P01): all worth trying again later. Also node-postgres' own connect / query timeouts.
 */
function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | null;
  const code = e?.code ?? '';
  if (/^08/.test(code) || ['57P01', '57P02', '57P03', '57014', '53300', '53400', '55P03', '40P01'].includes(code)) {
    return true;
  }
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE', 'EAI_AGAIN'].includes(code)) {
    return true;
  }
  return /timeout exceeded when trying to connect|Connection terminated|Query read timeout|connect ETIMEDOUT|Client has encountered a connection error/i.test(
    e?.message ?? '',
  );
}

/** Runs a store call and turns its failure into a ResultStoreError that says which kind it is. */
export async function storeCall<T>(op: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ResultStoreError) throw error;
    const message = (error as Error)?.message ?? String(error);
    if (isUnavailable(error)) {
      throw new ResultStoreError('unavailable', op, `PostgreSQL is unavailable (${op}): ${message}`, { cause: error });
    }
    throw new ResultStoreError('failed', op, `result store ${op} failed: ${message}`, { cause: error });
  }
}
