// Counting from workflow code: a sink call leaves the sandbox without touching the history, so
// a flow can count what it did without an activity (no new commands, old histories replay as
// before). Sinks are not called during replay: a workflow replayed on another worker is not
// counted twice.
import { proxySinks, type Sinks } from '@temporalio/workflow';

/** The platform's workflow sinks; the worker injects them (src/platform/observability/workflow-sinks.ts). */
export interface PlatformSinks extends Sinks {
  threadlineMetrics: {
    /** An escalation fired (an SLA passed, a policy step, a person pressed Escalate). */
    escalated(kind: string): void;
  };
}

const { threadlineMetrics } = proxySinks<PlatformSinks>();

/** Counts an escalation of a `kind` lifecycle in `threadline_escalations_total{kind}`. */
export function countEscalation(kind: string): void {
  threadlineMetrics.escalated(kind);
}
