import { defineFlow } from '../../src/platform/flow.js';

/** The bench-only "flow" that serves benchBaselineWorkflow on a task queue of its own. */
export const baselineFlow = defineFlow({
  name: 'bench-baseline',
  kinds: ['benchbase'],
  workflows: new URL('./workflow.js', import.meta.url),
});
