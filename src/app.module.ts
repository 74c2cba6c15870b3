import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EVENT_SCHEMAS } from './event-schemas';
import { PERSONAL_DATA_POLICY } from './personal-data';
import { PrivacyModule } from './privacy/privacy.module';
import { SubjectKeyStoreModule } from './stores/subject-key-store.module';
import { AuditModule } from './audit/audit.module';
import { MetricsModule } from './metrics/metrics.module';
import { DashboardModule } from './dashboard/dashboard.module';
import { ApplicationsModule } from './applications/applications.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { HealthModule } from './health/health.module';
import { IdempotencyModule } from './http/idempotency/idempotency.module';
import { ParticipantsModule } from './participants/participants.module';
import { ProgrammesModule } from './programmes/programmes.module';
import { ProjectionsModule } from './projections/projections.module';
import { PROJECTIONS } from './read-models';
import { ReadModelStoreModule } from './stores/read-model-store.module';
import { Clock, SystemClock } from './shared/clock';
import { EventStoreModule } from './stores/event-store.module';

/** The HTTP application, built around one validated configuration. */
@Module({})
export class AppModule {
  static register(config: AppConfig, clock: Clock = new SystemClock()): DynamicModule {
    // A projector keeps the read models and answers only health and metrics.
    if (config.PROCESS_ROLE === 'projector')
      return {
        module: AppModule,
        imports: [
          ConfigHolderModule.register(config, clock),
          CqrsModule.forRoot(),
          SubjectKeyStoreModule,
          EventStoreModule.forRoot(PERSONAL_DATA_POLICY, EVENT_SCHEMAS),
          AuthModule,
          ReadModelStoreModule,
          ProjectionsModule.forRoot(PROJECTIONS),
          HealthModule,
          MetricsModule,
        ],
      };
    return {
      module: AppModule,
      imports: [
        ConfigHolderModule.register(config, clock),
        CqrsModule.forRoot(),
        SubjectKeyStoreModule,
        EventStoreModule.forRoot(PERSONAL_DATA_POLICY, EVENT_SCHEMAS),
        AuthModule,
        IdempotencyModule,
        ReadModelStoreModule,
        ProjectionsModule.forRoot(PROJECTIONS),
        HealthModule,
        ProgrammesModule,
        ApplicationsModule,
        ParticipantsModule,
        AuditModule,
        MetricsModule,
        DashboardModule,
        PrivacyModule,
      ],
    };
  }
}

/** Makes the validated `AppConfig` and the clock injectable everywhere. */
@Module({})
class ConfigHolderModule {
  static register(config: AppConfig, clock: Clock): DynamicModule {
    return {
      module: ConfigHolderModule,
      global: true,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: Clock, useValue: clock },
      ],
      exports: [AppConfig, Clock],
    };
  }
}
