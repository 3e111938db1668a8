import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter, Duration } from '@temporalio/common';
import type { BundleOptions, InjectedSinks, NativeConnection } from '@temporalio/worker';
import { Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ActivityImplementations, AnyFlow } from '../platform/flow.js';
import { FAILURE_CONVERTER_PATH } from '../platform/temporal/codec.js';
import type { PlatformSinks } from '../platform/temporal/workflow/metrics.js';

/** A module URL as a path: `.ts` under tsx/vitest (sources), `.js` in dist. */
export function modulePath(url: URL): string {
  const path = fileURLToPath(url);
  const ts = path.replace(/\.js$/, '.ts');
  return existsSync(path) ? path : ts;
}

/** The workflow modules a worker serves: the platform's and each flow's (from the registry). */
export function workflowModules(flows: readonly AnyFlow[]): string[] {
  return [
    modulePath(new URL('../platform/workflows.js', import.meta.url)),
    ...flows.flatMap((f) => (f.workflows ? [modulePath(f.workflows)] : [])),
  ];
}

/** Our sources import `./x.js` (NodeNext); when bundling `.ts` sources webpack must map that back to `.ts`. */
// The generated entry lives in a temp folder: let it resolve the SDK from our own node_modules.
const sdkModules = join(
  dirname(createRequire(import.meta.url).resolve('@temporalio/workflow/package.json')),
  '..',
  '..',
);
const webpackConfigHook: NonNullable<BundleOptions['webpackConfigHook']> = (config) => {
  config.resolve = {
    ...config.resolve,
    extensionAlias: { '.js': ['.ts', '.js'] },
    modules: [...(config.resolve?.modules ?? ['node_modules']), sdkModules],
  };
  return config;
};

/**
 * Bundles the workflows once (tests share one bundle across workers; also catches sandbox
 * violations). The entry is generated from the registry, so adding a flow needs no edit here;
 * `export *` makes two flows exporting the same workflow name a bundling error. Tests may add
 * workflow interceptor modules (e.g. shorter retry bounds).
 */
export async function bundleWorkflows(
  flows: readonly AnyFlow[],
  opts: Pick<BundleOptions, 'workflowInterceptorModules'> = {},
): Promise<WorkflowBundleWithSourceMap> {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-workflows-'));
  try {
    const entry = join(dir, 'index.js');
    await writeFile(
      entry,
      workflowModules(flows)
        .map((m) => `export * from ${JSON.stringify(m)};`)
        .join('\n'),
    );
    return await bundleWorkflowCode({
      workflowsPath: entry,
      // Failures raised inside the sandbox get their message and stack encoded too (encrypted by the codec).
      failureConverterPath: FAILURE_CONVERTER_PATH,
      webpackConfigHook,
      logger: quietBundlerLogger,
      ...opts,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const noop = () => undefined;
const quietBundlerLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };

/** Deployment name reported with the build id (Temporal groups build ids by deployment). */
export const WORKER_DEPLOYMENT_NAME = 'threadline';

/**
 * The worker's build id: a digest of the workflow bundle, so two workers report the same id
 * exactly when they run the same workflow code. Temporal records it on every workflow task the
 * worker completes, which tells which code wrote each part of a history (docs/architecture.md,
 * "Versioning workflows"). Task routing by version is not turned on.
 */
export function workflowBuildId(bundle: { code: string }): string {
  return `wf-${createHash('sha256').update(bundle.code).digest('hex').slice(0, 16)}`;
}

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: ActivityImplementations;
  /** Payload codec and failure converter (`dataConverterFor(config.temporal)`); the bundle must use the same failure converter. */
  dataConverter?: DataConverter;
  /** A pre-built bundle (tests); otherwise the workflows are bundled at start. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** How long shutdown waits for running activities before cancelling them. */
  shutdownGraceTime?: Duration;
  /** Workflow sinks (the platform's counters, `platformSinks`). */
  sinks?: InjectedSinks<PlatformSinks>;
}

export async function createWorker(opts: WorkerOptions, flows: readonly AnyFlow[]): Promise<Worker> {
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflows(flows));
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    workflowBundle,
    // Reports the build id without versioning-based routing (useWorkerVersioning: false): any
    // worker on the queue may run any workflow; patched() keeps old histories replaying.
    workerDeploymentOptions: {
      version: { deploymentName: WORKER_DEPLOYMENT_NAME, buildId: workflowBuildId(workflowBundle) },
      useWorkerVersioning: false,
    },
    activities: opts.activities,
    dataConverter: opts.dataConverter,
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
    sinks: opts.sinks,
    // Two cores: bounded concurrency keeps the ack path responsive under load.
    maxConcurrentActivityTaskExecutions: 50,
    maxConcurrentWorkflowTaskExecutions: 40,
  });
}
