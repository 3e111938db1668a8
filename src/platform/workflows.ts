// The platform's own workflows (bundled with every flow's): the system round trip and the
// answers Slack gets after the 3-second ack.
export { pingWorkflow } from './system/workflow.js';
export { slackResponseWorkflow } from './slack/workflow.js';
