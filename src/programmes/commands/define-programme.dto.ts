import { PageOf } from '../../http/openapi';
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { IsCalendarDate, IsText } from '../../http/validators';
import { DEGREE_LEVELS, ENROLMENT_TYPES } from '../domain/programme';

const ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

export class SocietyDto {
  @ApiProperty({ example: 'B33' })
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, {
    message: 'code must be upper-case letters and digits, e.g. B33',
  })
  code!: string;

  @ApiProperty({ example: 'China Rare Earth Society' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;
}

/** `POST /v1/programmes`: the programme's rules (docs/API.md, "Programme"). */
export class DefineProgrammeDto {
  @ApiProperty({ example: 'cast-dtdp-2025' })
  @Matches(ID, { message: 'programmeId must be 2-63 lower-case letters, digits or dashes' })
  programmeId!: string;

  @ApiProperty({ example: 'CAST Doctoral Talent Development Programme 2025' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ example: 'Asia/Shanghai' })
  @IsText()
  @IsNotEmpty()
  timeZone!: string;

  @ApiProperty({
    example: '2025-11-17',
    description: 'last day applications are accepted, in timeZone',
  })
  @IsCalendarDate()
  applicationDeadline!: string;

  @ApiProperty({ example: '2026-01-01' })
  @IsCalendarDate()
  startDate!: string;

  @ApiProperty({ type: [String], example: ['CN'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @Matches(/^[A-Z]{2}$/, {
    each: true,
    message: 'eligibleNationalities must be ISO 3166-1 alpha-2 codes such as CN',
  })
  eligibleNationalities!: string[];

  @ApiProperty({ example: ['full_time'], enum: ENROLMENT_TYPES, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(ENROLMENT_TYPES, { each: true })
  enrolmentTypes!: string[];

  @ApiProperty({ example: ['doctoral'], enum: DEGREE_LEVELS, isArray: true })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(DEGREE_LEVELS, { each: true })
  degreeLevels!: string[];

  @ApiProperty({ type: 'integer', example: 24 })
  @IsInt()
  @Min(0)
  @Max(120)
  minRemainingStudyMonths!: number;

  @ApiProperty({ type: 'integer', example: 3 })
  @IsInt()
  @Min(1)
  @Max(1000)
  recommendationQuota!: number;

  @ApiProperty({ type: 'integer', example: 24 })
  @IsInt()
  @Min(1)
  @Max(120)
  durationMonths!: number;

  @ApiProperty({ type: 'integer', example: 240 })
  @IsInt()
  @Min(1)
  @Max(100_000)
  requiredHours!: number;

  @ApiProperty({ type: [SocietyDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ValidateNested({ each: true })
  @Type(() => SocietyDto)
  societies!: SocietyDto[];
}

export class DefineProgrammeResultDto {
  @ApiProperty({ example: 'cast-dtdp-2025' })
  programmeId!: string;

  @ApiProperty({ description: 'false when the same rules were defined before (200)' })
  created!: boolean;

  @ApiProperty({ type: 'integer', example: 1, nullable: true })
  position!: number | null;
}

/** A programme as `GET /v1/programmes[/:programmeId]` answers it: its rules and their position. */
export class ProgrammeDto extends DefineProgrammeDto {
  @ApiProperty({ type: 'integer', example: 1, description: 'global position of its definition' })
  position!: number;
}

export class ProgrammePageDto extends PageOf(ProgrammeDto) {}
