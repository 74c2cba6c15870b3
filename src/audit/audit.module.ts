import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';

/** What auditors read and run: raw streams, the log, verification. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
