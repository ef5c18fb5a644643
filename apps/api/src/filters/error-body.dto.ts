import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class FieldErrorDto {
  @ApiProperty({ example: 'priority' })
  field!: string;

  @ApiProperty({ example: 'max' })
  rule!: string;

  @ApiProperty({ example: 'priority must not be greater than 100' })
  message!: string;
}

/** Every error the api answers has this shape. */
export class ErrorBodyDto {
  @ApiProperty({ type: 'integer', example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ example: 'priority must not be greater than 100' })
  message!: string;

  @ApiPropertyOptional({ type: [FieldErrorDto] })
  errors?: FieldErrorDto[];
}
