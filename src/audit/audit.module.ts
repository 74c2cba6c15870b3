import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { VerificationJobs } from './verification-jobs';

/** What auditors read and run: raw streams, the log, verification jobs. */
@Module({ controllers: [AuditController], providers: [VerificationJobs] })
export class AuditModule {}
