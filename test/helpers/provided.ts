import type {} from 'vitest';

// What global-setup.ts provides to every integration test (read with `inject`).
declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
  }
}
