import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Duration } from '@temporalio/common';
import type { BundleOptions, NativeConnection } from '@temporalio/worker';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Activities } from './activities.js';

/** Source entry of the workflow bundle: `.ts` under tsx/vitest, `.js` in dist. */
export function workflowsEntry(): string {
  const ts = fileURLToPath(new URL('./workflows.ts', import.meta.url));
  return existsSync(ts) ? ts : fileURLToPath(new URL('./workflows.js', import.meta.url));
}

/** Our sources import `./x.js` (NodeNext); when bundling `.ts` sources webpack must map that back to `.ts`. */
const webpackConfigHook: NonNullable<BundleOptions['webpackConfigHook']> = (config) => {
  config.resolve = { ...config.resolve, extensionAlias: { '.js': ['.ts', '.js'] } };
  return config;
};

/** Bundles the workflows once (tests share one bundle across workers; also catches sandbox violations). */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: workflowsEntry(), webpackConfigHook, logger: quietBundlerLogger });
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A pre-built bundle (tests); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** How long shutdown waits for running activities before cancelling them. */
  shutdownGraceTime?: Duration;
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflows());
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle,
    activities: opts.activities,
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
    // Two cores: bounded concurrency keeps the ack path responsive under load.
    maxConcurrentActivityTaskExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: 40,
  });
}
