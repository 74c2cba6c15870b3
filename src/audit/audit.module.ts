import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { postgresTimeouts } from '../stores/postgres/postgres-pool';
import { AuditController } from './audit.controller';
import { PostgresVerificationJobBoard } from './postgres-verification-job-board';
import {
  InMemoryJobBoard,
  VERIFICATION_JOB_BOARD,
  type VerificationJobBoard,
} from './verification-job-board';
import { VerificationJobs } from './verification-jobs';

/** Verification jobs are shared where the read models are: in PostgreSQL, every instance's. */
function createJobBoard(config: AppConfig): VerificationJobBoard {
  return config.READ_MODEL_STORE === 'postgres'
    ? new PostgresVerificationJobBoard(config.DATABASE_URL!, {
        timeouts: postgresTimeouts(config.REQUEST_TIMEOUT_MS),
      })
    : new InMemoryJobBoard();
}

/** Closes the board once the jobs have stopped (they stop when the module is destroyed). */
class JobBoardCloser implements OnApplicationShutdown {
  constructor(@Inject(VERIFICATION_JOB_BOARD) private readonly board: VerificationJobBoard) {}

  async onApplicationShutdown(): Promise<void> {
    await this.board.close();
  }
}

/** What auditors read and run: raw streams, the log, verification jobs. */
@Module({
  controllers: [AuditController],
  providers: [
    { provide: VERIFICATION_JOB_BOARD, inject: [AppConfig], useFactory: createJobBoard },
    VerificationJobs,
    JobBoardCloser,
  ],
})
export class AuditModule {}
