import { Inject, Injectable } from '@nestjs/common';
import { apiKeyPrincipal, ApiKeyStore } from './api-key.store';
import { AUTH_OPTIONS } from './auth.module-definition';
import { AuthMode, AuthModuleOptions } from './auth.options';
import { JwtRejected, JwtVerifier } from './jwt.verifier';
import { ANONYMOUS, Principal } from './scopes';

/** What a request's credentials come to. `invalid.reason` is safe to answer with (never the credential). */
export type AuthOutcome =
  { kind: 'principal'; principal: Principal } | { kind: 'missing' } | { kind: 'invalid'; reason: string };

/** The request headers that carry credentials (Node's lower-case names). */
export interface CredentialHeaders {
  authorization?: string | string[];
  'x-api-key'?: string | string[];
}

const BEARER = /^Bearer +([^\s]+) *$/i;

/**
 * Turns a request's credentials into a principal, by AUTH_MODE: an API key (`Authorization: Bearer
 * tq_...` or `X-API-Key: tq_...`), a JWT (`Authorization: Bearer <jwt>`), either (`both`), or none at
 * all (`none`: everyone is the anonymous principal with every scope).
 */
@Injectable()
export class Authenticator {
  private readonly jwt?: JwtVerifier;

  constructor(
    private readonly keys: ApiKeyStore,
    @Inject(AUTH_OPTIONS) private readonly options: Pick<AuthModuleOptions, 'mode' | 'jwt'>,
  ) {
    if (this.accepts('jwt')) this.jwt = new JwtVerifier(options.jwt!);
  }

  get mode(): AuthMode {
    return this.options.mode;
  }

  async authenticate(headers: CredentialHeaders): Promise<AuthOutcome> {
    if (this.options.mode === 'none') return { kind: 'principal', principal: ANONYMOUS };
    const { authorization, 'x-api-key': apiKey } = headers;
    if (authorization === undefined && apiKey === undefined) return { kind: 'missing' };
    if (Array.isArray(authorization) || Array.isArray(apiKey)) {
      return invalid('send one Authorization or X-API-Key header, not several');
    }
    if (authorization !== undefined && apiKey !== undefined) {
      return invalid('send one credential: Authorization or X-API-Key, not both');
    }
    if (apiKey !== undefined) return this.byApiKey(apiKey);
    const token = BEARER.exec(authorization!)?.[1];
    if (!token) return invalid('Authorization must be "Bearer <API key or JWT>"');
    if (token.startsWith('tq_')) return this.byApiKey(token);
    if (!this.jwt) return invalid('not an API key (API keys look like tq_<id>_<secret>); this api takes API keys only');
    try {
      return { kind: 'principal', principal: await this.jwt.verify(token) };
    } catch (error) {
      if (error instanceof JwtRejected) return invalid(error.message);
      throw error;
    }
  }

  private async byApiKey(key: string): Promise<AuthOutcome> {
    if (!this.accepts('api-key')) return invalid('this api takes JWTs only (AUTH_MODE=jwt), not API keys');
    if (!key.startsWith('tq_')) return invalid('not an API key (API keys look like tq_<id>_<secret>)');
    const record = await this.keys.verify(key);
    if (!record) return invalid('unknown, revoked or malformed API key');
    return { kind: 'principal', principal: apiKeyPrincipal(record) };
  }

  private accepts(kind: 'api-key' | 'jwt'): boolean {
    return this.options.mode === 'both' || this.options.mode === kind;
  }
}

function invalid(reason: string): AuthOutcome {
  return { kind: 'invalid', reason };
}
