import { Module } from '@nestjs/common';
import { DashboardCache } from './dashboard-cache';
import { DashboardController } from './dashboard.controller';
import { DashboardPageController } from './dashboard-page.controller';

/** The dashboard: its aggregates API and the web page that shows them. */
@Module({
  controllers: [DashboardController, DashboardPageController],
  providers: [{ provide: DashboardCache, useFactory: () => new DashboardCache() }],
})
export class DashboardModule {}
