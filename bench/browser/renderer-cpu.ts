// The CPU time of a page's renderer process, every thread of it, read from
// /proc (Linux): a page cannot read its own, and the settle waits after a
// threaded engine's runs (lib/timing.ts) need it to see the engine's threads
// go quiet, as process.cpuUsage() shows them in Node.
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const read = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null; // the process or thread has just ended
  }
};

/** The renderer processes among this process's descendants (Chromium's --type=renderer). */
export function rendererPids(): number[] {
  if (!existsSync('/proc/self/task')) return [];
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = read(`/proc/${name}/stat`);
    if (!stat) continue;
    // pid (comm) state ppid …, where comm may hold spaces and parentheses
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      if (read(`/proc/${child}/cmdline`)?.includes('--type=renderer')) found.push(child);
      visit(child);
    }
  };
  visit(process.pid);
  return found;
}

/** CPU milliseconds used so far by every thread of these processes (schedstat: nanoseconds on a CPU); null where /proc cannot tell. */
export function cpuMsOf(pids: number[]): number | null {
  if (pids.length === 0) return null;
  let ns = 0;
  for (const pid of pids) {
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) ns += Number(read(`/proc/${pid}/task/${tid}/schedstat`)?.split(' ')[0] ?? 0);
  }
  return ns / 1e6;
}
