import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import { pgPoolProvider } from './pg-pool.provider';
import { ResultStore } from './result-store';
import { PG_POOL } from './results.constants';
import { ConfigurableResultsModule } from './results.module-definition';
import { TaskHistory } from './task-history';

/**
 * The PostgreSQL result store: `ResultsModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`.
 * Exports the writer (ResultStore, used by the worker's archiver and retention) and the reader
 * (TaskHistory, used by the api). With RESULTS_BACKEND=redis no connection is opened and both say
 * `enabled === false`.
 */
@Module({
  providers: [pgPoolProvider, ResultStore, TaskHistory],
  exports: [ResultStore, TaskHistory],
})
export class ResultsModule extends ConfigurableResultsModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool | null) {
    super();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.end();
  }
}
