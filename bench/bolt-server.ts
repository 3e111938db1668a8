import type { AddressInfo } from 'node:net';
import { boltBaseline } from './bolt-app.js';

/**
 * The baseline of `bench/slack-ingress.bench.ts` in its own OS process, as Threadline's API runs in
 * its own: a Slack Bolt for JS app (HTTPReceiver, a no-op `message` listener) with the signing
 * secret from BOLT_SIGNING_SECRET, on a free port. Prints `ready <url>`; SIGTERM stops it and
 * prints `seen <n>` (the events its listener received) first.
 */
const secret = process.env.BOLT_SIGNING_SECRET;
if (!secret) throw new Error('BOLT_SIGNING_SECRET is required');
const { app, seen } = boltBaseline(secret, process.env.BOLT_TOKEN ?? 'xoxb-bench');
const server = await app.start({ port: 0, host: '127.0.0.1' });
process.stdout.write(`ready http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events\n`);
process.once('SIGTERM', () => {
  process.stdout.write(`seen ${seen()}\n`);
  void app.stop().finally(() => process.exit(0));
});
