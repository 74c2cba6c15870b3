export * from './schema';
export * from './upcasting-event-store';
