import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';

export class HealthIndicatorDto {
  @ApiProperty({ enum: ['up', 'down'] })
  status!: 'up' | 'down';

  @ApiPropertyOptional({ example: 'Connection is closed.', description: 'Why the check is down' })
  message?: string;
}

const byIndicator = (description: string) => ({
  type: 'object' as const,
  additionalProperties: { $ref: getSchemaPath(HealthIndicatorDto) },
  description,
});

/** Terminus's health check result. */
@ApiExtraModels(HealthIndicatorDto)
class HealthResultDto {
  @ApiProperty(byIndicator('The checks that are up, by name (redis)'))
  info!: Record<string, HealthIndicatorDto>;

  @ApiProperty(byIndicator('The checks that are down, by name, with the reason'))
  error!: Record<string, HealthIndicatorDto>;

  @ApiProperty(byIndicator('Every check, by name'))
  details!: Record<string, HealthIndicatorDto>;
}

export class HealthUpDto extends HealthResultDto {
  @ApiProperty({ enum: ['ok'] })
  status!: 'ok';
}

export class HealthDownDto extends HealthResultDto {
  @ApiProperty({
    enum: ['error', 'shutting_down'],
    description: 'error: a check is down; shutting_down: SIGTERM received',
  })
  status!: 'error' | 'shutting_down';
}
