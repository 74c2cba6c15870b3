import { ApiProperty } from '@nestjs/swagger';

// A count of people, or null when it is about fewer than DASHBOARD_MIN_GROUP (dashboard role).
const count = (example: number, description: string) =>
  ({
    type: 'integer',
    nullable: true,
    example,
    description: `${description}; null when suppressed (fewer than DASHBOARD_MIN_GROUP people)`,
  }) as const;
const hours = (example: number) =>
  ({ type: Number, nullable: true, example, description: 'null when suppressed' }) as const;

class DashboardHoursDto {
  @ApiProperty(hours(1210)) political!: number | null;
  @ApiProperty(hours(3400.5)) professional!: number | null;
  @ApiProperty(hours(980)) social!: number | null;
  @ApiProperty(hours(5590.5)) total!: number | null;
  @ApiProperty({ description: 'whether the hours are hidden (too few participants)' })
  suppressed!: boolean;
}

/** Participants per pace (progress.view.ts), each a count suppressed like the others. */
class DashboardPaceDto {
  @ApiProperty(count(2, 'ahead of pace')) ahead!: number | null;
  @ApiProperty(count(4, 'on track')) on_track!: number | null;
  @ApiProperty(count(2, 'behind pace')) behind!: number | null;
  @ApiProperty(count(0, 'at risk')) at_risk!: number | null;
  @ApiProperty(count(1, 'completed')) completed!: number | null;
  @ApiProperty(count(0, 'withdrawn')) withdrawn!: number | null;
}

/** `GET /v1/programmes/:programmeId/dashboard`: aggregates only (dashboard.query.ts). */
export class DashboardDto {
  @ApiProperty({ example: 'cast-dtdp-2025' }) programmeId!: string;
  @ApiProperty({ type: String, nullable: true, example: 'B33', description: 'null: all societies' })
  society!: string | null;
  @ApiProperty(count(40, 'applications submitted')) applications!: number | null;
  @ApiProperty(count(31, 'eligible applications')) eligible!: number | null;
  @ApiProperty(count(12, 'ever recommended')) recommended!: number | null;
  @ApiProperty({ type: 'integer', example: 3, description: 'a rule, never suppressed' })
  recommendationQuota!: number;
  @ApiProperty(count(10, 'matched (enrolled included)')) matched!: number | null;
  @ApiProperty(count(9, 'participants enrolled')) enrolled!: number | null;
  @ApiProperty(count(7, 'active participants')) active!: number | null;
  @ApiProperty(count(1, 'completed')) completed!: number | null;
  @ApiProperty(count(1, 'withdrawn')) withdrawn!: number | null;
  @ApiProperty({ type: DashboardHoursDto }) verifiedHours!: DashboardHoursDto;
  @ApiProperty(count(2, 'behind pace')) behind!: number | null;
  @ApiProperty(count(0, 'at risk')) atRisk!: number | null;
  @ApiProperty(count(3, 'applications declined by their society')) declined!: number | null;
  @ApiProperty(count(2, 'applications not selected by headquarters')) notSelected!: number | null;
  @ApiProperty({ type: DashboardPaceDto, description: 'participants by pace' })
  pace!: DashboardPaceDto;
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 5400,
    description:
      'hours a linear pace expects by today, summed over the participants; null when the hours are suppressed',
  })
  expectedHoursToDate!: number | null;
  @ApiProperty({ description: 'whether any count above is hidden' }) suppressed!: boolean;
}
