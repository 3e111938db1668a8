'use strict';
// The failure converter of every Threadline client and worker (see FAILURE_CONVERTER_PATH in codec.ts).
// CommonJS on purpose: the Temporal SDK loads it with require() outside the workflow sandbox, which
// cannot load ESM or TypeScript (temporalio/sdk-typescript#1292); webpack bundles it into the sandbox.
// encodeCommonAttributes moves each failure's message and stack trace into a payload, which the
// payload codec then encrypts like any other: error texts can carry URLs, names and message text.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
