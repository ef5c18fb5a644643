import type { ConfigService } from '@nestjs/config';
import { AuthModuleOptions } from '@app/auth';
import { ApiEnv } from '../config/api.env';

/** libs/auth's options from the validated environment. */
export function authOptionsFrom(config: ConfigService<ApiEnv, true>): AuthModuleOptions {
  const get = <K extends keyof ApiEnv>(name: K) => config.get(name, { infer: true }) as ApiEnv[K];
  const mode = get('AUTH_MODE');
  const orUndefined = (value: string) => (value === '' ? undefined : value);
  return {
    mode,
    prefix: get('QUEUE_PREFIX'),
    jwt:
      mode === 'jwt' || mode === 'both'
        ? {
            secret: orUndefined(get('JWT_SECRET')),
            publicKey: orUndefined(get('JWT_PUBLIC_KEY')),
            jwksUrl: orUndefined(get('JWT_JWKS_URL')),
            algorithms: get('JWT_ALGORITHMS').split(',').filter(Boolean),
            issuer: get('JWT_ISSUER'),
            audience: get('JWT_AUDIENCE'),
            clockToleranceSeconds: get('JWT_CLOCK_TOLERANCE_SECONDS'),
          }
        : undefined,
    bootstrapAdminKey: orUndefined(get('BOOTSTRAP_ADMIN_KEY')),
    quota: {
      tasks: get('QUOTA_TASKS'),
      payloadBytes: get('QUOTA_PAYLOAD_BYTES'),
      windowSeconds: get('QUOTA_WINDOW_SECONDS'),
    },
  };
}
