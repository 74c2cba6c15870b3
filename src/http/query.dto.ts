import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, MaxLength, Min } from 'class-validator';
import { IsText } from './validators';

/** docs/API.md's query conventions, shared by every slice's queries. */

/** `?minPosition=N`: answer once the read models have applied position N (read-your-writes). */
export class ReadQueryDto {
  @ApiPropertyOptional({
    description:
      'answer only once the read models have processed this global position; 503 after 5 s',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  minPosition?: number;
}

/** A paged list query. */
export class PageQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ default: 50, maximum: 500 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsText()
  @MaxLength(1000)
  cursor?: string;
}
