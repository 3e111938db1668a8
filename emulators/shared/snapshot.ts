import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Snapshotter<T> {
  /** The saved state, or undefined (no path, no file, other version, unreadable: warned and ignored). */
  load(): T | undefined;
  /** Debounced save after a mutation. */
  scheduleSave(): void;
  /** Immediate save (on stop). */
  saveNow(): void;
  /**
   * Saves now if a save is pending. Called before every answer leaves the emulator, so what an
   * answer reports (a message's `ts`, a created issue) is on disk before the caller can see it:
   * a `kill -9` right after loses nothing that was answered.
   */
  flush(): void;
}

/**
 * An emulator's optional JSON snapshot (`{version, data}`), so a restarted sandbox keeps its state.
 * Writes go to a temp file then rename, so a crash mid-write never leaves a truncated snapshot.
 * Mutations schedule a debounced save; `flush` (before each answer) makes it synchronous when an
 * answer follows a change. Without a path nothing is written.
 */
export function createSnapshotter<T>(opts: {
  path: string | undefined;
  version: number;
  data: () => T;
  debounceMs: number;
  warn?: (msg: string, err: unknown) => void;
}): Snapshotter<T> {
  const { path } = opts;
  let timer: NodeJS.Timeout | undefined;
  const saveNow = () => {
    if (!path) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, JSON.stringify({ version: opts.version, data: opts.data() }));
    renameSync(`${path}.tmp`, path);
  };
  return {
    load() {
      if (!path || !existsSync(path)) return undefined;
      try {
        const snap = JSON.parse(readFileSync(path, 'utf8')) as { version?: number; data?: T };
        return snap.version === opts.version ? snap.data : undefined;
      } catch (err) {
        opts.warn?.('ignoring unreadable snapshot', err);
        return undefined;
      }
    },
    scheduleSave() {
      if (!path || timer) return;
      timer = setTimeout(() => {
        try {
          saveNow();
        } catch (err) {
          opts.warn?.('snapshot save failed', err);
        }
      }, opts.debounceMs);
    },
    saveNow,
    flush() {
      if (!timer) return;
      try {
        saveNow();
      } catch (err) {
        opts.warn?.('snapshot save failed', err);
      }
    },
  };
}
