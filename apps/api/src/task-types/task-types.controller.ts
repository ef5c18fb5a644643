import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Put, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Principal } from '@app/auth';
import { TASK_TYPE_PATTERN, TaskContractRegistry } from '@app/contracts';
import { QueueError, QueueErrorCode } from '@app/queue';
import { RuntimeTaskTypes, TASK_TYPES_REFRESH_MS } from '@app/task-types';
import { assertQueueAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { badRequest } from '../filters/api-errors';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { PutTaskTypeDto, TaskTypeDto, TaskTypeListDto, taskTypeList } from './dto/task-type.dto';

const NAME_PARAM = {
  name: 'name',
  description: 'A task type: 1-128 characters of [A-Za-z0-9_.:-]',
  schema: { type: 'string' as const, pattern: TASK_TYPE_PATTERN.source },
};
const NOT_FOUND = 'No task type of that name';

/** The path's name, held to the task type pattern (a submit could never name another). */
function checkedName(name: string): string {
  if (!TASK_TYPE_PATTERN.test(name)) {
    throw badRequest([{ field: 'name', rule: 'matches', message: 'name must be 1-128 characters of [A-Za-z0-9_.:-]' }]);
  }
  return name;
}

/**
 * Task types: those of this build (read-only) and those defined at run time, which every api replica
 * accepts within TASK_TYPES_REFRESH_MS of the change. `read` to see, `admin` to change.
 */
@ApiTags('task-types')
@ApiRedisUnavailableResponse()
@Controller('task-types')
export class TaskTypesController {
  constructor(
    private readonly runtime: RuntimeTaskTypes,
    private readonly registry: TaskContractRegistry,
  ) {}

  @Get()
  @ApiOperation({
    operationId: 'listTaskTypes',
    summary: 'Every task type this api accepts: those defined in code, then those defined at run time',
  })
  @ApiOkResponse({ type: TaskTypeListDto })
  @RequireScopes('read')
  @NoQueryParameters()
  list(): TaskTypeListDto {
    return { task_types: taskTypeList(this.registry, this.runtime) };
  }

  @Get(':name')
  @ApiOperation({
    operationId: 'getTaskType',
    summary: 'One task type, with its payload schema when defined at run time',
  })
  @ApiParam(NAME_PARAM)
  @ApiOkResponse({ type: TaskTypeDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A name that is not a task type name' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NOT_FOUND })
  @RequireScopes('read')
  @NoQueryParameters()
  get(@Param('name') name: string): TaskTypeDto {
    checkedName(name);
    const source = this.registry.sourceOf(name);
    if (!source) throw new QueueError(QueueErrorCode.NotFound, 'getTaskType', `no task type "${name}"`);
    return TaskTypeDto.of(name, this.registry, source === 'runtime' ? this.runtime.get(name) : undefined);
  }

  @Put(':name')
  @ApiOperation({
    operationId: 'putTaskType',
    summary: 'Define or replace a task type at run time: its payload schema (JSON Schema 2020-12) and defaults',
    description:
      `Submits of the type are checked against the schema (errors name payload.<field> and the keyword) by every api ` +
      `replica within ${TASK_TYPES_REFRESH_MS} ms, this one before it answers. Its tasks go to its queue unless a submit names ` +
      'another; a native worker dead-letters a type it has no handler for (unknown_task_type), so give runtime types ' +
      'a queue of their own. Tasks already submitted keep the settings they were submitted with.',
  })
  @ApiParam(NAME_PARAM)
  @ApiBody({ type: PutTaskTypeDto })
  @ApiCreatedResponse({ type: TaskTypeDto, description: 'Created' })
  @ApiOkResponse({ type: TaskTypeDto, description: 'Replaced' })
  @ApiBadRequestResponse({
    type: ErrorBodyDto,
    description:
      'Malformed JSON, a missing, unknown or out-of-range field, or a payload_schema that is not a JSON Schema 2020-12, does not compile, refers outside itself, or passes the size or depth limit (field payload_schema…)',
  })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'The type is defined in code (a contract of this build), or 1000 types are defined at run time',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorBodyDto, description: 'Body over MAX_BODY_BYTES' })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' })
  @RequireScopes('admin')
  @NoQueryParameters()
  async put(
    @CurrentPrincipal() principal: Principal,
    @Param('name') name: string,
    @Body() body: PutTaskTypeDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    checkedName(name);
    if (body.queue !== undefined) assertQueueAccess(principal, body.queue, 'queue');
    const outcome = await this.runtime.put(name, body);
    if (!outcome.ok) throw badRequest(outcome.violations);
    // The status depends on the outcome, so this route sends its own reply.
    await reply
      .status(outcome.created ? HttpStatus.CREATED : HttpStatus.OK)
      .send(TaskTypeDto.of(name, this.registry, outcome.type));
  }

  @Delete(':name')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    operationId: 'deleteTaskType',
    summary: 'Delete a task type defined at run time: submits of it are refused from then on (its tasks stay)',
  })
  @ApiParam(NAME_PARAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'A name that is not a task type name' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: 'No task type of that name is defined at run time' })
  @ApiConflictResponse({ type: ErrorBodyDto, description: 'The type is defined in code; it cannot be deleted' })
  @RequireScopes('admin')
  @NoQueryParameters()
  async remove(@Param('name') name: string): Promise<void> {
    await this.runtime.remove(checkedName(name));
  }
}
