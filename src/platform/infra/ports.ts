import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A port the stack is about to listen on, and the variable that moves it. */
export interface PlannedPort {
  port: number;
  host: string;
  variable: string;
  /** What listens there: "the API", "the embedded Temporal dev server"… */
  what: string;
}

/** Ports someone else holds, each named with its variable, so the fix is one edit away. */
export class PortInUseError extends Error {
  constructor(readonly taken: (PlannedPort & { holder?: string })[]) {
    super(
      taken
        .map(
          (p) =>
            `Port ${p.port} (${p.variable}, ${p.what}) is already in use${p.holder ? ` by ${p.holder}` : ' by another process'}: ` +
            `stop that process or set ${p.variable} to a free port.`,
        )
        .join('\n'),
    );
    this.name = 'PortInUseError';
  }
}

/**
 * Fails before anything starts if a port is taken: otherwise a new engine that cannot bind exits,
 * and a client may reach whatever holds the port (an orphan from a crashed run) as if it were ours.
 */
export async function assertPortsFree(ports: PlannedPort[]): Promise<void> {
  const taken: (PlannedPort & { holder?: string })[] = [];
  for (const p of ports) {
    if (p.port === 0 || (await canListen(p))) continue;
    taken.push({ ...p, holder: await listenerOf(p.port) });
  }
  if (taken.length) throw new PortInUseError(taken);
}

function canListen(p: PlannedPort): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port: p.port, host: p.host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * "pid N (command…)" of the process listening on `port`, best effort and Linux only (/proc):
 * the socket inode from /proc/net/tcp{,6}, then the process holding a descriptor on it.
 */
async function listenerOf(port: number): Promise<string | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is the 10th field.
      if (f[3] === '0A' && parseInt(f[1]?.split(':')[1] ?? '', 16) === port && f[9]) inodes.add(f[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of (await readdir('/proc').catch(() => [])).filter((d) => /^\d+$/.test(d))) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
          .replace(/\0+$/, '')
          .replace(/\0/g, ' ');
        return `pid ${pid}${cmd ? ` (${cmd.slice(0, 120)})` : ''}`;
      }
    }
  }
  return undefined;
}
