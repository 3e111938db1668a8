// Moved to the platform (reports use it too); approvals keep importing it from here.
export {
  MAX_DURATION_MS,
  formatDurationShort,
  parseDuration,
  type DurationResult,
} from '../../../platform/time/duration.js';
