import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PageOf, erasedProperty } from '../../http/openapi';
import { DEGREE_LEVELS, ENROLMENT_TYPES } from '../../programmes/domain/programme';
import { EligibilityDto } from '../commands/application.dto';
import { APPLICATION_STATUSES } from '../domain/application';

const personal = (example: string, description?: string) =>
  ({
    type: String,
    nullable: true,
    example,
    description: `${description ? `${description}; ` : ''}personal data: null once the applicant is erased`,
  }) as const;

/** An application as `GET /v1/applications/:applicationId` and the list answer it. */
export class ApplicationDto {
  @ApiProperty({ example: '019ac5f2-1c3e-7a4b-9d2e-5f6a7b8c9d0e' }) applicationId!: string;
  @ApiProperty({ example: 'cast-dtdp-2025' }) programmeId!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "the applicant's pseudonym; null when submitted before personal data was sealed",
  })
  subjectRef!: string | null;
  @ApiProperty(personal('applicant-1', 'the `sub` that submitted it')) applicantSub!: string | null;
  @ApiProperty(personal('李明')) fullName!: string | null;
  @ApiProperty(personal('CN')) nationality!: string | null;
  @ApiProperty({ enum: ENROLMENT_TYPES }) enrolmentType!: string;
  @ApiProperty({ enum: DEGREE_LEVELS }) degreeLevel!: string;
  @ApiProperty(personal('Peking University')) institution!: string | null;
  @ApiProperty(personal('2029-06-30')) expectedGraduationDate!: string | null;
  @ApiProperty(personal('Rare earth magnets')) researchField!: string | null;
  @ApiProperty({ example: 'B33' }) societyCode!: string;
  @ApiProperty({ example: '2025-11-10T02:00:00.000Z' }) submittedAt!: string;
  @ApiProperty({ type: EligibilityDto }) eligibility!: EligibilityDto;
  @ApiProperty({ enum: APPLICATION_STATUSES }) status!: string;
  @ApiProperty(personal('Quota used', "the society's or headquarters' last reason"))
  reason!: string | null;
  @ApiProperty(personal('Strong record', "the society's recommendation note")) note!: string | null;
  @ApiProperty({ type: String, nullable: true, example: null }) mentoringSocietyCode!:
    string | null;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'once enrolled' })
  participantId!: string | null;
  @ApiProperty({ type: 'integer', example: 17 }) position!: number;
  @ApiPropertyOptional(erasedProperty) erased?: boolean;
}

export class ApplicationPageDto extends PageOf(ApplicationDto) {}
