export * from './key-store';
export * from './policy';
export * from './sealed';
export * from './sealing-event-store';
export * from './vault';
