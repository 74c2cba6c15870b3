import { type DynamicModule, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AppConfig } from './config/app-config';
import { HealthModule } from './health/health.module';
import { EventStoreModule } from './stores/event-store.module';

/** The HTTP application, built around one validated configuration. */
@Module({})
export class AppModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigHolderModule.register(config),
        CqrsModule.forRoot(),
        EventStoreModule.forRoot(),
        HealthModule,
      ],
    };
  }
}

/** Makes the validated `AppConfig` injectable everywhere. */
@Module({})
class ConfigHolderModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: ConfigHolderModule,
      global: true,
      providers: [{ provide: AppConfig, useValue: config }],
      exports: [AppConfig],
    };
  }
}
