// The alerts flow's workflows (bundled with every flow's): alert lifecycles and ChatOps runs.
export { alertWorkflow } from './workflow/alert.js';
export { chatopsActionWorkflow } from './workflow/chatops.js';
