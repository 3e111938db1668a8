import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../../src/worker/worker.js';
import { flows } from '../../../src/flows/index.js';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

describe('workflow bundle (Temporal sandbox)', () => {
  it('bundles src/workflows without sandbox violations', async () => {
    const bundle = await bundleWorkflows(flows);
    expect(bundle.code).toContain('pingWorkflow');
    // Nothing with I/O may end up in workflow code.
    for (const forbidden of ['@slack/web-api', 'jira.js', 'node_modules/pg/', 'fastify']) {
      expect(bundle.code).not.toContain(forbidden);
    }
  }, 60_000);

  it('rejects a workflow that imports a Node built-in (the guard really fires)', async () => {
    const errors: string[] = [];
    await expect(
      bundleWorkflowCode({
        workflowsPath: fileURLToPath(new URL('../../fixtures/workflows/bad-workflow.ts', import.meta.url)),
        logger: { ...quiet, error: (m: string, meta?: unknown) => void errors.push(`${m} ${JSON.stringify(meta)}`) },
      }),
    ).rejects.toThrow(/Webpack finished with errors/);
    expect(errors.join('\n')).toMatch(/fs/);
  }, 60_000);
});
