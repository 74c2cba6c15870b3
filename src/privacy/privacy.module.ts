import { Module } from '@nestjs/common';
import { ErasePersonalDataHandler } from './commands/erase-personal-data';
import { ErasureController } from './erasure.controller';

/** Erasure of a student's personal data (crypto-shredding). */
@Module({ controllers: [ErasureController], providers: [ErasePersonalDataHandler] })
export class PrivacyModule {}
