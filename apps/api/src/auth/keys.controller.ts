import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { API_KEY_ID_PATTERN, ApiKeyStore, Principal } from '@app/auth';
import { QueueError, QueueErrorCode } from '@app/queue';
import { badRequest } from '../filters/api-errors';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { assertAllQueues, CurrentPrincipal, RequireScopes } from './access';
import {
  ApiKeyDto,
  ApiKeyListQueryDto,
  ApiKeyPageDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  limitsChangeOf,
  UpdateApiKeyDto,
} from './dto/api-key.dto';

const KEY_ID_PARAM = {
  name: 'id',
  description: 'The key id (the 12 hex digits after tq_)',
  schema: { type: 'string' as const },
};

/**
 * API keys, for admins without a queue restriction (a restricted admin could otherwise mint a key
 * for any queue). `npm run keys` does the same from a shell.
 */
@ApiTags('auth')
@ApiRedisUnavailableResponse()
@Controller('auth/keys')
export class KeysController {
  constructor(private readonly keys: ApiKeyStore) {}

  @Post()
  @RequireScopes('admin')
  @NoQueryParameters()
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key; the answer holds the key, shown this once (Redis keeps only its hash)',
  })
  @ApiBody({ type: CreateApiKeyDto })
  @ApiCreatedResponse({ type: CreatedApiKeyDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad name, scope, queue list, rate limit or quota' })
  async create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    assertAllQueues(principal, 'creating API keys');
    const { key, record } = await this.keys.create({
      name: dto.name,
      scopes: dto.scopes,
      queues: dto.queues ?? null,
      ...limitsChangeOf(dto),
    });
    return { ...ApiKeyDto.from(record), key };
  }

  @Get()
  @RequireScopes('admin')
  @ApiOperation({ operationId: 'listApiKeys', summary: 'Live API keys (never their secrets), in id order, paginated' })
  @ApiOkResponse({ type: ApiKeyPageDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad limit or cursor, or an unknown parameter' })
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ApiKeyListQueryDto): Promise<ApiKeyPageDto> {
    assertAllQueues(principal, 'listing API keys');
    const page = await this.keys.list(query.limit ?? 100, query.cursor);
    return { keys: page.keys.map((record) => ApiKeyDto.from(record)), next_cursor: page.nextCursor };
  }

  @Patch(':id')
  @RequireScopes('admin')
  @NoQueryParameters()
  @ApiOperation({
    operationId: 'updateApiKey',
    summary: "Change a key's own rate limit and quota: every api replica applies them within a second",
    description:
      "A field left out is kept; null removes the key's own limit, so the environment's default applies (RATE_LIMIT_*, QUOTA_*). A new window (per_ms, per_seconds) starts a new count; a new max or quota on the same window keeps the count so far.",
  })
  @ApiParam(KEY_ID_PARAM)
  @ApiBody({ type: UpdateApiKeyDto })
  @ApiOkResponse({ type: ApiKeyDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad rate limit or quota, or neither given' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No live key has this id' })
  async update(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body() dto: UpdateApiKeyDto,
  ): Promise<ApiKeyDto> {
    assertAllQueues(principal, 'changing API keys');
    if (dto.rate_limit === undefined && dto.quota === undefined) {
      const message = "give rate_limit, quota or both (null removes the key's own limit)";
      throw badRequest([{ field: 'body', rule: 'minProperties', message }]);
    }
    const record = API_KEY_ID_PATTERN.test(id) ? await this.keys.setLimits(id, limitsChangeOf(dto)) : undefined;
    if (!record) throw new QueueError(QueueErrorCode.NotFound, 'updateApiKey', `no live API key has id ${id}`);
    return ApiKeyDto.from(record);
  }

  @Delete(':id')
  @RequireScopes('admin')
  @NoQueryParameters()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key: every api replica refuses it within a second; its id is never issued again',
  })
  @ApiParam(KEY_ID_PARAM)
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No live key has this id' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    assertAllQueues(principal, 'revoking API keys');
    if (!API_KEY_ID_PATTERN.test(id) || !(await this.keys.revoke(id))) {
      throw new QueueError(QueueErrorCode.NotFound, 'revokeApiKey', `no live API key has id ${id}`);
    }
  }
}
