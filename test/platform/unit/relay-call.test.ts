import { describe, expect, it } from 'vitest';
import { PayloadDecryptionError, parsePayloadKeys } from '../../../src/platform/temporal/codec.js';
import { createCallSealer, relayLane, type RelayEnvelope } from '../../../src/platform/relay/call.js';

const keys = parsePayloadKeys('k1:dGhyZWFkbGluZS1zYW5kYm94LXBheWxvYWQta2V5ISE=').keys;
const envelope: RelayEnvelope = {
  type: 'message',
  call: {
    kind: 'signal',
    workflowId: 'payment:order_1',
    signal: 'slackThreadEvent',
    args: [{ text: 'my card ends 4242', responseUrl: 'https://hooks.slack.com/actions/T0/1/secret' }],
  },
};

/** The Temporal call the ack path stores: sealed at rest, bound to its delivery. */
describe('relay calls at rest', () => {
  it('seal and open round-trip, and the sealed bytes hold none of the plaintext', async () => {
    const sealer = createCallSealer({ payloadKeys: keys });
    const sealed = await sealer.seal('slack', 'Ev1', envelope);
    expect(sealed.keyId).toBe('k1');
    const raw = sealed.sealed.toString('latin1');
    for (const secret of ['4242', 'hooks.slack.com', 'payment:order_1', 'slackThreadEvent'])
      expect(raw).not.toContain(secret);
    expect(await sealer.open('slack', 'Ev1', sealed)).toEqual(envelope);
  });

  it("a call copied into another delivery's row does not open", async () => {
    const sealer = createCallSealer({ payloadKeys: keys });
    const sealed = await sealer.seal('slack', 'Ev1', envelope);
    await expect(sealer.open('slack', 'Ev2', sealed)).rejects.toBeInstanceOf(PayloadDecryptionError);
    await expect(sealer.open('slack_interaction', 'Ev1', sealed)).rejects.toBeInstanceOf(PayloadDecryptionError);
  });

  it('a call that does not fit the schema is refused on opening', async () => {
    const sealer = createCallSealer({ payloadKeys: keys });
    const bad = await sealer.seal('slack', 'Ev3', {
      type: 'message',
      call: { kind: 'start' },
    } as unknown as RelayEnvelope);
    await expect(sealer.open('slack', 'Ev3', bad)).rejects.toThrow(/kind/);
  });

  it('the lane is the namespace and task queue', () => {
    expect(relayLane({ namespace: 'default', taskQueue: 'threadline' })).toBe('default/threadline');
  });
});
