import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, inject } from 'vitest';
import { createPool, type Pool } from '../../src/platform/db/pool.js';
import { startTestStack, type TestStack } from './stack.js';
import { testDataConverter } from './temporal.js';

export interface StackContext<H> {
  stack: TestStack;
  /** A Temporal client with the product's data converter (histories, queries, starts with test inputs). */
  client: Client;
  pool: Pool;
  /** The flow's test harness over this stack. */
  h: H;
}

/**
 * One real stack for a test file (started in `beforeAll`, stopped in `afterAll`) with a Temporal
 * client, a Postgres pool and the flow's harness. Fields are filled once `beforeAll` ran.
 */
export function useStack<H>(env: Record<string, string>, harness: (stack: TestStack) => H): StackContext<H> {
  const ctx = {} as StackContext<H>;
  let connection: Connection | undefined;
  beforeAll(async () => {
    ctx.stack = await startTestStack(env);
    ctx.h = harness(ctx.stack);
    connection = await Connection.connect({ address: inject('temporalAddress') });
    ctx.client = new Client({ connection, dataConverter: testDataConverter() });
    ctx.pool = createPool(inject('databaseUrl'));
  });
  afterAll(async () => {
    await connection?.close();
    await ctx.pool?.end();
    await ctx.stack?.stop();
  });
  return ctx;
}
