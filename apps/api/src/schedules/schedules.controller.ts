import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
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
import { mayUseQueue, Principal, visibleQueues } from '@app/auth';
import { QueueInspector, queueOfScheduleId } from '@app/queue';
import { assertQueueAccess, CurrentPrincipal, RequireScopes } from '../auth/access';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParameters } from '../filters/error-responses';
import { CreateScheduleDto, PatchScheduleDto, PutScheduleDto } from './dto/schedule-body.dto';
import { ScheduleDto, ScheduleListDto, ScheduleListQueryDto } from './dto/schedule.dto';
import { QueueVisible, SchedulesService } from './schedules.service';

const BAD_BODY =
  'Malformed JSON, a missing, unknown or out-of-range field, an invalid cron expression or time zone (field cron or tz), an unknown task type or a payload that breaks its contract (field task.…), or a query parameter; names the field and the rule';
const LOCATION = {
  Location: { description: 'The schedule, /schedules/{schedule_id}', required: true, schema: { type: 'string' } },
};
const SCHEDULE_PARAM = { name: 'schedule', description: 'A schedule_id, or a schedule name' };
const NOT_FOUND =
  'No schedule of that id or name (a schedule of a queue the credential may not use is not found either)';
/** GET /schedules' page size unless `limit` says otherwise. */
const DEFAULT_SCHEDULE_PAGE = 50;

/**
 * `read` for the GETs, `admin` for every change. A credential restricted to queues sees and changes only
 * the schedules that enqueue into them.
 */
/** What the caller may see: a credential restricted to queues sees their schedules only. */
const visibleTo =
  (principal: Principal): QueueVisible =>
  (queue) =>
    mayUseQueue(principal, queue);

/**
 * A route's schedule key: an id names its queue, so a credential restricted to other queues gets its
 * 403 before anything is looked up (as for task ids); a name is looked up, and one of a queue the
 * caller may not use answers 404 like a name nobody has.
 */
function assertKeyAccess(principal: Principal, key: string): void {
  const queue = queueOfScheduleId(key);
  if (queue !== undefined) assertQueueAccess(principal, queue, 'schedule');
}

@ApiTags('schedules')
@ApiRedisUnavailableResponse()
@Controller('schedules')
export class SchedulesController {
  constructor(
    private readonly schedules: SchedulesService,
    private readonly inspector: QueueInspector,
  ) {}

  @Post()
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({
    operationId: 'createSchedule',
    summary: 'Create a schedule: a cron expression (in a time zone) or an interval, and the task it enqueues',
  })
  @ApiBody({ type: CreateScheduleDto })
  @ApiCreatedResponse({
    type: ScheduleDto,
    description: 'Created; next_runs shows its next 5 run times',
    headers: LOCATION,
  })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: BAD_BODY })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description: 'A schedule of that name exists, or a new queue past MAX_QUEUES',
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorBodyDto,
    description: 'Body over MAX_BODY_BYTES, or a payload over MAX_PAYLOAD_BYTES',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' })
  @RequireScopes('admin')
  @NoQueryParameters()
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body() body: CreateScheduleDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ScheduleDto> {
    assertQueueAccess(principal, this.schedules.queueOf(body.task), 'task.queue');
    const { name, ...definition } = body;
    const schedule = await this.schedules.create(name, definition, visibleTo(principal));
    reply.header('Location', `/schedules/${schedule.schedule_id}`);
    return schedule;
  }

  @Get()
  @ApiOperation({
    operationId: 'listSchedules',
    summary: 'The schedules the caller may see (or of one queue), by name, with their next runs and latest run',
    description:
      'Paginated by cursor: pass next_cursor back as cursor until it is null. The cursor is the name of the last ' +
      'schedule shown, so pages are stable while schedules are created or deleted.',
  })
  @ApiOkResponse({ type: ScheduleListDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: 'Bad queue, limit or cursor, or an unknown parameter' })
  @RequireScopes('read')
  async list(@CurrentPrincipal() principal: Principal, @Query() query: ScheduleListQueryDto): Promise<ScheduleListDto> {
    if (query.queue !== undefined) assertQueueAccess(principal, query.queue);
    // Only the caller's queues are read: a credential that sees none of them costs nothing.
    const queues =
      query.queue !== undefined ? [query.queue] : visibleQueues(principal, await this.inspector.listQueues());
    const page = await this.schedules.page(queues, query.cursor, query.limit ?? DEFAULT_SCHEDULE_PAGE);
    return { schedules: page.schedules, next_cursor: page.next };
  }

  @Get(':schedule')
  @ApiOperation({
    operationId: 'getSchedule',
    summary: 'One schedule: its next 5 run times, its latest run, and the task it enqueued then with its status',
  })
  @ApiParam(SCHEDULE_PARAM)
  @ApiOkResponse({ type: ScheduleDto })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NOT_FOUND })
  @RequireScopes('read')
  @NoQueryParameters()
  async get(@CurrentPrincipal() principal: Principal, @Param('schedule') key: string): Promise<ScheduleDto> {
    assertKeyAccess(principal, key);
    return this.schedules.get(key, visibleTo(principal));
  }

  @Put(':schedule')
  @ApiOperation({
    operationId: 'upsertSchedule',
    summary: 'Create or update the schedule of this name (idempotent: a deploy may declare its schedules every time)',
    description:
      'The path names the schedule. An unchanged definition writes nothing; a new cron, every_ms or tz restarts its ticks from now, other changes keep the tick it waits for. Its queue cannot change (409): delete it and create it again.',
  })
  @ApiParam({ name: 'schedule', description: 'The schedule name (1-128 characters of [A-Za-z0-9_.:-])' })
  @ApiBody({ type: PutScheduleDto })
  @ApiCreatedResponse({ type: ScheduleDto, description: 'Created', headers: LOCATION })
  @ApiOkResponse({ type: ScheduleDto, description: 'Updated, or unchanged', headers: LOCATION })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: `${BAD_BODY}; or a path that is not a name` })
  @ApiConflictResponse({
    type: ErrorBodyDto,
    description:
      "The schedule's queue would change, the name is taken in a queue the caller may not use, a new queue past MAX_QUEUES, MAX_SCHEDULES reached, or concurrent edits",
  })
  @ApiPayloadTooLargeResponse({
    type: ErrorBodyDto,
    description: 'Body over MAX_BODY_BYTES, or a payload over MAX_PAYLOAD_BYTES',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' })
  @RequireScopes('admin')
  @NoQueryParameters()
  async put(
    @CurrentPrincipal() principal: Principal,
    @Param('schedule') name: string,
    @Body() body: PutScheduleDto,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    // Its queue cannot change (409), so checking the new one checks the old one too.
    assertQueueAccess(principal, this.schedules.queueOf(body.task), 'task.queue');
    const { schedule, created } = await this.schedules.put(name, body, visibleTo(principal));
    // The status depends on the outcome, so this route sends its own reply.
    await reply
      .status(created ? HttpStatus.CREATED : HttpStatus.OK)
      .header('Location', `/schedules/${schedule.schedule_id}`)
      .send(schedule);
  }

  @Patch(':schedule')
  @ApiOperation({
    operationId: 'updateSchedule',
    summary: 'Change a schedule: cron, every_ms, tz, the task template, enabled, missed, catch_up_limit',
    description:
      'Takes effect at the next tick. A new cron, every_ms or tz restarts its ticks from now; task replaces the whole template.',
  })
  @ApiParam(SCHEDULE_PARAM)
  @ApiBody({ type: PatchScheduleDto })
  @ApiOkResponse({ type: ScheduleDto })
  @ApiBadRequestResponse({ type: ErrorBodyDto, description: BAD_BODY })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NOT_FOUND })
  @ApiConflictResponse({ type: ErrorBodyDto, description: "The schedule's queue would change, or concurrent edits" })
  @ApiPayloadTooLargeResponse({
    type: ErrorBodyDto,
    description: 'Body over MAX_BODY_BYTES, or a payload over MAX_PAYLOAD_BYTES',
  })
  @ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' })
  @RequireScopes('admin')
  @NoQueryParameters()
  async patch(
    @CurrentPrincipal() principal: Principal,
    @Param('schedule') key: string,
    @Body() body: PatchScheduleDto,
  ): Promise<ScheduleDto> {
    assertKeyAccess(principal, key);
    return this.schedules.patch(key, body, visibleTo(principal));
  }

  @Delete(':schedule')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ operationId: 'deleteSchedule', summary: 'Delete a schedule: it fires no more (its tasks stay)' })
  @ApiParam(SCHEDULE_PARAM)
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiNotFoundResponse({ type: ErrorBodyDto, description: NOT_FOUND })
  @RequireScopes('admin')
  @NoQueryParameters()
  async remove(@CurrentPrincipal() principal: Principal, @Param('schedule') key: string): Promise<void> {
    assertKeyAccess(principal, key);
    await this.schedules.remove(key, visibleTo(principal));
  }
}
