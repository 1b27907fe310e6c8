/** The whole relational schema: the one source that migrations are generated from. */
export * from './enums.ts';
export * from './identity.ts';
export * from './operations.ts';
export * from './detection.ts';
export * from './intel.ts';
export * from './logs.ts';
