// Starts workerd (the npm package's binary) on 127.0.0.1 with every socket
// of a config on a free port, reads back the ports it bound, and stops it by
// its PID.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

// The package's main export is the path of the platform binary itself, not
// the Node shim in its bin/, so the PID is workerd's own.
const workerdBinary: string = createRequire(import.meta.url)('workerd').default;

export interface Workerd {
  readonly pid: number;
  /** Socket name → the port it listens on, on 127.0.0.1. */
  readonly ports: Record<string, number>;
  /** What workerd wrote to stdout and stderr so far (workers' console.log goes there). */
  output(): string;
  stop(): Promise<void>;
}

export async function startWorkerd(
  config: string,
  sockets: string[],
  options: { importPath?: string; timeoutMs?: number } = {},
): Promise<Workerd> {
  const args = ['serve', config, '--control-fd=3'];
  for (const name of sockets) args.push(`--socket-addr=${name}=127.0.0.1:0`);
  if (options.importPath) args.push(`--import-path=${options.importPath}`);
  // fd 3 carries workerd's control messages: one JSON line per bound socket.
  const child = spawn(workerdBinary, args, { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdio[1], child.stdio[2]] as Readable[]) stream.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(child.pid!, 'SIGTERM');
    const killed = setTimeout(() => process.kill(child.pid!, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(killed);
  };

  const ports: Record<string, number> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`workerd did not listen within ${options.timeoutMs ?? 10000} ms`)), options.timeoutMs ?? 10000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`workerd exited (${code}) before listening`)));
      let pending = '';
      (child.stdio[3] as Readable).on('data', (chunk: Buffer) => {
        pending += chunk;
        let newline;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const message = JSON.parse(pending.slice(0, newline));
          pending = pending.slice(newline + 1);
          if (message.event === 'listen') ports[message.socket] = message.port;
        }
        if (sockets.every((s) => s in ports)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return { pid: child.pid!, ports, output: () => output, stop };
}
