import { Module } from '@nestjs/common';
import { DashboardCache } from './dashboard-cache';
import { DashboardController } from './dashboard.controller';
import { DashboardPageController } from './dashboard-page.controller';
import { ChangesController } from './changes.controller';

/** The dashboard: its aggregates API, its changes stream and the web pages that show them. */
@Module({
  controllers: [DashboardController, ChangesController, DashboardPageController],
  providers: [{ provide: DashboardCache, useFactory: () => new DashboardCache() }],
})
export class DashboardModule {}
