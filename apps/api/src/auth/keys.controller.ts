import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post, Query } from '@nestjs/common';
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
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { assertAllQueues, CurrentPrincipal, RequireScopes } from './access';
import { ApiKeyDto, ApiKeyListQueryDto, ApiKeyPageDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

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
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A bad name, scope or queue list' })
  async create(@CurrentPrincipal() principal: Principal, @Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    assertAllQueues(principal, 'creating API keys');
    const { key, record } = await this.keys.create({ name: dto.name, scopes: dto.scopes, queues: dto.queues ?? null });
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

  @Delete(':id')
  @RequireScopes('admin')
  @NoQueryParameters()
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'revokeApiKey',
    summary: 'Revoke an API key: every api replica refuses it within a second; its id is never issued again',
  })
  @ApiParam({ name: 'id', description: 'The key id (the 12 hex digits after tq_)', schema: { type: 'string' } })
  @ApiNoContentResponse({ description: 'Revoked' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No live key has this id' })
  async revoke(@CurrentPrincipal() principal: Principal, @Param('id') id: string): Promise<void> {
    assertAllQueues(principal, 'revoking API keys');
    if (!API_KEY_ID_PATTERN.test(id) || !(await this.keys.revoke(id))) {
      throw new QueueError(QueueErrorCode.NotFound, 'revokeApiKey', `no live API key has id ${id}`);
    }
  }
}
