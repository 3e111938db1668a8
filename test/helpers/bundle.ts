import { readFile } from 'node:fs/promises';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { inject } from 'vitest';
import './provided.js';

let bundleCode: Promise<string> | undefined;
/** The workflow bundle built once by global setup (bundling per worker would cost seconds each). */
export async function sharedBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundleCode ??= readFile(inject('workflowBundlePath'), 'utf8');
  return { code: await bundleCode, sourceMap: '' };
}
