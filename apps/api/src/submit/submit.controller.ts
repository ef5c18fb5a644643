import { applyDecorators, Body, Controller, HttpCode, HttpStatus, Post, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { ErrorBodyDto } from '../filters/error-body.dto';
import { SubmitBatchDto } from './dto/submit-batch.dto';
import { SubmitBatchResponseDto, SubmitResponseDto } from './dto/submit-response.dto';
import { SubmitTaskDto } from './dto/submit-task.dto';
import { SubmitService } from './submit.service';

const SubmitErrors = () =>
  applyDecorators(
    ApiBadRequestResponse({
      type: ErrorBodyDto,
      description:
        'Malformed JSON, a missing, unknown or out-of-range field, an unknown task type, or a payload that breaks its contract; names the field and the rule',
    }),
    ApiPayloadTooLargeResponse({
      type: ErrorBodyDto,
      description: 'Body over MAX_BODY_BYTES, or a payload over MAX_PAYLOAD_BYTES',
    }),
    ApiUnsupportedMediaTypeResponse({ type: ErrorBodyDto, description: 'Content-Type is not application/json' }),
    ApiServiceUnavailableResponse({
      type: ErrorBodyDto,
      description: 'Redis unavailable; nothing was written. Retry after the Retry-After header',
    }),
  );

@ApiTags('submit')
@Controller('submit')
export class SubmitController {
  constructor(private readonly submitService: SubmitService) {}

  @Post()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ operationId: 'submitTask', summary: 'Submit one task' })
  @ApiAcceptedResponse({
    type: SubmitResponseDto,
    description: 'Accepted: stored in Redis; Location names the status URL',
  })
  @ApiBody({ type: SubmitTaskDto })
  @SubmitErrors()
  async submit(
    @Body() dto: SubmitTaskDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SubmitResponseDto> {
    const task = await this.submitService.submit(dto);
    reply.header('Location', `/tasks/${task.id}`);
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
  @SubmitErrors()
  async submitBatch(@Body() dto: SubmitBatchDto): Promise<SubmitBatchResponseDto> {
    const tasks = await this.submitService.submitBatch(dto.tasks);
    return { task_ids: tasks.map((task) => task.id) };
  }
}
