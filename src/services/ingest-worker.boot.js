// Entry of the ingest worker thread (ingest-worker.ts). Vigil runs its TypeScript sources through tsx, and a
// worker thread starts without the parent's module hooks: register them here, then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./ingest-worker.ts');
