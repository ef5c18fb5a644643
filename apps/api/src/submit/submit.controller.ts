import { applyDecorators, Body, Controller, HttpCode, HttpStatus, Post, Res, UseGuards } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Principal } from '@app/auth';
import { CurrentPrincipal, RequireScopes } from '../auth/access';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { ApiRedisUnavailableResponse, NoQueryParametersGuard } from '../filters/error-responses';
import { SubmitBatchDto } from './dto/submit-batch.dto';
import { SubmitBatchResponseDto, SubmitResponseDto } from './dto/submit-response.dto';
import { IDEMPOTENCY_KEY_PATTERN, SubmitTaskDto } from './dto/submit-task.dto';
import { IdempotencyKey } from './idempotency-key.decorator';
import { SubmitService } from './submit.service';

/** What a submit's 409 can mean; a batch's adds its own. */
const SUBMIT_CONFLICTS =
  'Nothing written: a new queue past MAX_QUEUES (use an existing queue or forget an empty one); the idempotency key used for another task, or an equal unique task (unique_for_ms, unique_key) still unfinished (existing_task_id names it)';
const BATCH_CONFLICTS =
  `${SUBMIT_CONFLICTS}. Also two tasks of the batch in each other's way (equal unique tasks of one queue, or one idempotency_key for two different tasks): errors names the later one (tasks.N.unique_key, tasks.N.unique_for_ms or tasks.N.idempotency_key), no existing_task_id (neither was written). ` +
  "A batch over several queues is refused for the conflicting task's queue only: written_task_ids lists the other queues' stored tasks";

const SubmitErrors = (conflicts: string) =>
  applyDecorators(
    ApiBadRequestResponse({
      type: ErrorBodyDto,
      description:
        'Malformed JSON, a body nested deeper than 64 levels, a missing, unknown or out-of-range field, an unknown task type, a payload that breaks its contract, or a query parameter (none is taken); names the field and the rule',
    }),
    ApiPayloadTooLargeResponse({
      type: ErrorBodyDto,
      description:
        "Body over the route's limit (POST /submit: MAX_PAYLOAD_BYTES + 64 KiB; the batch: MAX_BODY_BYTES), or a payload over MAX_PAYLOAD_BYTES",
    }),
    ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' }),
    ApiConflictResponse({ type: ErrorBodyDto, description: conflicts }),
    RequireScopes('submit'),
    ApiTooManyRequestsResponse({
      type: ErrorBodyDto,
      description:
        "Past the rate limit, or past the credential's quota of tasks (QUOTA_TASKS) or payload bytes (QUOTA_PAYLOAD_BYTES) per QUOTA_WINDOW_SECONDS; the message says which; nothing written. Retry after Retry-After seconds",
      headers: {
        'Retry-After': { description: 'Seconds until the window ends', required: true, schema: { type: 'integer' } },
      },
    }),
    ApiRedisUnavailableResponse(
      'Redis unavailable: nothing was written (or, after a command timeout, maybe written: the message says which). Retry after Retry-After seconds',
    ),
  );

@ApiTags('submit')
@UseGuards(NoQueryParametersGuard)
@Controller('submit')
export class SubmitController {
  constructor(private readonly submitService: SubmitService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ operationId: 'submitTask', summary: 'Submit one task' })
  @ApiAcceptedResponse({
    type: SubmitResponseDto,
    description: 'Accepted: stored in Redis; Location names the status URL',
    headers: {
      Location: { description: 'The task status URL, /tasks/{task_id}', required: true, schema: { type: 'string' } },
    },
  })
  @ApiOkResponse({
    type: SubmitResponseDto,
    description:
      'A replay: the Idempotency-Key (or idempotency_key) was used for this same task before; the original task, nothing new written',
    headers: {
      Location: { description: 'The task status URL, /tasks/{task_id}', required: true, schema: { type: 'string' } },
      'Idempotent-Replayed': {
        description: 'Always true on a replay',
        required: true,
        schema: { type: 'string', enum: ['true'] },
      },
    },
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: `Submit at most once per key (see idempotency_key); ${IDEMPOTENCY_KEY_PATTERN.source}`,
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
  })
  @ApiBody({ type: SubmitTaskDto })
  @SubmitErrors(SUBMIT_CONFLICTS)
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: SubmitTaskDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubmitResponseDto> {
    const task = await this.submitService.submit(principal, dto, idempotencyKey);
    reply.header('Location', `/tasks/${task.id}`);
    if (task.replayed) reply.status(HttpStatus.OK).header('Idempotent-Replayed', 'true');
    return { task_id: task.id, status: task.status, queue: task.queue };
  }

  @Post('batch')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    operationId: 'submitBatch',
    summary: 'Submit up to MAX_BATCH_SIZE tasks in one request (all or none)',
  })
  @ApiAcceptedResponse({ type: SubmitBatchResponseDto, description: 'Accepted: all stored, ids in request order' })
  @ApiBody({ type: SubmitBatchDto })
  @SubmitErrors(BATCH_CONFLICTS)
  async submitBatch(
    @CurrentPrincipal() principal: Principal,
    @Body() dto: SubmitBatchDto,
  ): Promise<SubmitBatchResponseDto> {
    const tasks = await this.submitService.submitBatch(principal, dto.tasks);
    return {
      task_ids: tasks.map((task) => task.id),
      replayed: tasks.flatMap((task, i) => (task.replayed ? [i] : [])),
    };
  }
}
