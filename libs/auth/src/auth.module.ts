import { Inject, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { QueueError, QueueErrorCode } from '@app/queue';
import { ApiKeyStore } from './api-key.store';
import { AUTH_OPTIONS, ConfigurableAuthModule } from './auth.module-definition';
import { AuthModuleOptions, BOOTSTRAP_SCOPES } from './auth.options';
import { Authenticator } from './authenticator';
import { QuotaKeeper } from './quota';
import { RateLimiter } from './rate-limiter';

/** While Redis is away at boot, the bootstrap admin key is tried again this often. */
const BOOTSTRAP_RETRY_MS = 2000;

/**
 * Authentication and quotas for the api: `AuthModule.forRootAsync({ useFactory, inject })`. Uses the
 * queue's Redis connection (QueueModule must be imported, it is global). Exports the authenticator,
 * the API key store, the quota keeper and the rate limiter.
 */
@Module({
  providers: [ApiKeyStore, Authenticator, QuotaKeeper, RateLimiter],
  exports: [ApiKeyStore, Authenticator, QuotaKeeper, RateLimiter],
})
export class AuthModule extends ConfigurableAuthModule implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Auth');
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly keys: ApiKeyStore,
    @Inject(AUTH_OPTIONS) private readonly options: AuthModuleOptions,
  ) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.mode === 'none') return;
    await this.ensureBootstrapKey();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retry);
  }

  /** BOOTSTRAP_ADMIN_KEY, created once; its id is logged, never the key. */
  private async ensureBootstrapKey(): Promise<void> {
    const key = this.options.bootstrapAdminKey;
    if (!key) return;
    try {
      const outcome = await this.keys.ensure(key, { name: 'bootstrap-admin', scopes: BOOTSTRAP_SCOPES, queues: null });
      const id = key.slice(3, 15);
      if (outcome === 'created') this.logger.log({ msg: `bootstrap admin key ${id} created (BOOTSTRAP_ADMIN_KEY)` });
      if (outcome === 'revoked') {
        this.logger.warn({
          msg: `BOOTSTRAP_ADMIN_KEY (id ${id}) was revoked and is not recreated; remove it from the environment`,
        });
      }
    } catch (error) {
      if (!(error instanceof QueueError) || error.code !== QueueErrorCode.Unavailable) throw error;
      this.logger.warn({ msg: `bootstrap admin key not stored yet (${error.message}); trying again` });
      this.retry = setTimeout(() => void this.ensureBootstrapKey(), BOOTSTRAP_RETRY_MS);
      this.retry.unref();
    }
  }
}
