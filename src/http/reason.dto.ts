import { ApiProperty } from '@nestjs/swagger';
import { IsNotEmpty, MaxLength } from 'class-validator';
import { IsText } from './validators';

/** A decision that must say why: decline, withdrawal, not-selected, rejection, retraction. */
export class ReasonDto {
  @ApiProperty({ example: "Research field outside the society's scope." })
  @IsText({ multiline: true })
  @IsNotEmpty()
  @MaxLength(2000)
  reason!: string;
}
