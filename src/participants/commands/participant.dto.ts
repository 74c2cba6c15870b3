import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsNotEmpty,
  IsNumber,
  IsOptional,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsCalendarDate, IsText } from '../../http/validators';
import { CATEGORIES, PILLARS, type Pillar } from '../../programmes/domain/programme';
import { RATINGS, type Rating } from '../domain/participant';

/** `POST /v1/participants/:participantId/activities`. */
export class LogActivityDto {
  @ApiProperty({ enum: PILLARS })
  @IsIn(PILLARS)
  pillar!: Pillar;

  @ApiProperty({ enum: CATEGORIES, description: 'must belong to the pillar' })
  @IsIn(CATEGORIES)
  category!: string;

  @ApiProperty({ example: 'China Rare Earth Annual Conference, Baotou' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(300)
  title!: string;

  @ApiProperty({ example: '2026-03-14' })
  @IsCalendarDate()
  occurredOn!: string;

  @ApiPropertyOptional({
    example: '2026-03-16',
    description: 'last day, for activities over several days',
  })
  @IsOptional()
  @IsCalendarDate()
  endedOn?: string;

  @ApiProperty({ example: 8, description: '> 0 and at most 24 per calendar day spanned' })
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0.01)
  @Max(100_000)
  hours!: number;

  @ApiPropertyOptional({ example: 'https://files.example.org/certificates/123.pdf' })
  @IsOptional()
  @IsText({ multiline: true })
  @MaxLength(1000)
  evidence?: string;
}

/** `POST .../correction`: a reason and at least one of hours, pillar, category. */
export class CorrectActivityDto {
  @ApiProperty({ example: 'Hours were entered for one day instead of three.' })
  @IsText({ multiline: true })
  @IsNotEmpty()
  @MaxLength(2000)
  reason!: string;

  @ApiPropertyOptional({ example: 24 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0.01)
  @Max(100_000)
  hours?: number;

  @ApiPropertyOptional({ enum: PILLARS })
  @IsOptional()
  @IsIn(PILLARS)
  pillar?: Pillar;

  @ApiPropertyOptional({ enum: CATEGORIES })
  @IsOptional()
  @IsIn(CATEGORIES)
  category?: string;
}

/** `POST .../reviews`. */
export class ReviewDto {
  @ApiProperty({ example: '2026-H1', description: 'the period reviewed, e.g. 2026-H1 or 2026-Q3' })
  @Matches(/^\d{4}-(H[12]|Q[1-4]|0[1-9]|1[0-2]|Y)$/, {
    message: 'period must look like 2026-H1, 2026-Q3, 2026-07 or 2026-Y',
  })
  period!: string;

  @ApiProperty({ enum: RATINGS })
  @IsIn(RATINGS)
  rating!: Rating;

  @ApiPropertyOptional()
  @IsOptional()
  @IsText({ multiline: true })
  @MaxLength(4000)
  note?: string;
}

export class LogActivityResultDto {
  @ApiProperty({ example: '019ac5f2-1c3e-7a4b-9d2e-5f6a7b8c9d0e' })
  activityId!: string;

  @ApiProperty({ example: 31 })
  position!: number;
}

/** `POST .../enrolment`. */
export class EnrolDto {
  @ApiProperty({ example: '2026-01-01' })
  @IsCalendarDate()
  startDate!: string;
}

export class EnrolResultDto {
  @ApiProperty({ example: '5b1f0c2a-9e3d-5c4b-a1f2-3e4d5c6b7a89' })
  participantId!: string;

  @ApiProperty({ example: 23 })
  position!: number;
}
