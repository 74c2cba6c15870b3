import { Module } from '@nestjs/common';
import { DashboardPageController } from './dashboard-page.controller';

/** `GET /dashboard`: the web page over the dashboard API. */
@Module({ controllers: [DashboardPageController] })
export class DashboardPageModule {}
