import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsOptional, Matches, MaxLength } from 'class-validator';
import { IsCalendarDate, IsText } from '../../http/validators';
import { erasedProperty } from '../../http/openapi';
import { DEGREE_LEVELS, ENROLMENT_TYPES } from '../../programmes/domain/programme';

/** `POST /v1/programmes/:programmeId/applications`. */
export class SubmitApplicationDto {
  @ApiProperty({ example: 'Li Wei' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(200)
  fullName!: string;

  @ApiProperty({ example: 'CN', description: 'ISO 3166-1 alpha-2' })
  @Matches(/^[A-Z]{2}$/, { message: 'nationality must be an ISO 3166-1 alpha-2 code such as CN' })
  nationality!: string;

  @ApiProperty({ enum: ENROLMENT_TYPES })
  @IsIn(ENROLMENT_TYPES)
  enrolmentType!: string;

  @ApiProperty({ enum: DEGREE_LEVELS })
  @IsIn(DEGREE_LEVELS)
  degreeLevel!: string;

  @ApiProperty({ example: 'Institute of Process Engineering, CAS' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(300)
  institution!: string;

  @ApiProperty({ example: '2028-07-01' })
  @IsCalendarDate()
  expectedGraduationDate!: string;

  @ApiProperty({ example: 'separation chemistry' })
  @IsText()
  @IsNotEmpty()
  @MaxLength(200)
  researchField!: string;

  @ApiProperty({ example: 'B33' })
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, {
    message: 'preferredSocietyCode must be a society code such as B33',
  })
  preferredSocietyCode!: string;
}

/** `POST .../recommendation`. */
export class RecommendDto {
  @ApiPropertyOptional({ example: 'Strong publication record in magnet materials.' })
  @IsOptional()
  @IsText({ multiline: true })
  @MaxLength(2000)
  note?: string;
}

/** `POST .../match`. */
export class MatchDto {
  @ApiProperty({ example: 'B33' })
  @Matches(/^[A-Z][A-Z0-9]{1,15}$/, {
    message: 'mentoringSocietyCode must be a society code such as B33',
  })
  mentoringSocietyCode!: string;
}

export class EligibilityCheckDto {
  @ApiProperty({
    enum: ['deadline', 'nationality', 'enrolmentType', 'degreeLevel', 'remainingStudy', 'society'],
  })
  rule!: string;

  @ApiProperty()
  passed!: boolean;

  @ApiProperty({
    type: String,
    example: 'nationality CN; eligible: CN',
    nullable: true,
    description: "quotes the applicant's facts: null once they are erased",
  })
  detail!: string | null;

  @ApiPropertyOptional(erasedProperty)
  erased?: boolean;
}

export class EligibilityDto {
  @ApiProperty()
  eligible!: boolean;

  @ApiProperty({ type: [EligibilityCheckDto] })
  checks!: EligibilityCheckDto[];
}

export class SubmitApplicationResultDto {
  @ApiProperty({ example: '019ac5f2-1c3e-7a4b-9d2e-5f6a7b8c9d0e' })
  applicationId!: string;

  @ApiProperty({ type: EligibilityDto })
  eligibility!: EligibilityDto;

  @ApiProperty({ type: 'integer', example: 17 })
  position!: number;
}
