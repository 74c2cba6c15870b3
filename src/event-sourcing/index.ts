export * from './event';
export * from './event-store';
export * from './errors';
export * from './event-hash';
export * from './stream-name';
export * from './append-plan';
export * from './decider';
export * from './polling-subscription';
