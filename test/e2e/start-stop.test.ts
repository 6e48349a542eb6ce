import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm start` as a user or a tool starts it, stopped by a signal to that process alone (not to its
 * process group, as a terminal's Ctrl-C would): nothing of the stack may be left running, and the
 * port must be free. Also: a second start on the same data folder, and an unknown flag.
 */
const root = join(__dirname, '../..');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const portFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** The processes of a process group still running (zombies are ended), from /proc. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .flatMap((d) => {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return Number(group) === pgid && state !== 'Z' ? [Number(d)] : [];
      } catch {
        return [];
      }
    });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` in a process group of its own (so the test can find, and finally clear, everything it started). */
function npmStart(env: Record<string, string>, args: string[] = []): Started {
  let output = '';
  const child = spawn('npm', ['start', ...(args.length ? ['--', ...args] : [])], { cwd: root, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  return { child, output: () => output, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const started: Started[] = [];
afterAll(() => {
  for (const s of started) if (s.child.pid) for (const pid of groupMembers(s.child.pid)) process.kill(pid, 'SIGKILL');
});

const onLinux = process.platform === 'linux' ? describe : describe.skip;

onLinux('stopping npm start', () => {
  it.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('%s to the npm start process stops every process of the stack and frees the port', async (signal) => {
    const port = await freePort();
    const stack = npmStart({ PORT: String(port), LOCAL_DATA_DIR: mkdtempSync(join(tmpdir(), 'moment-stop-')) });
    started.push(stack);
    await until(() => stack.output().includes('local stack is up'), 'the stack to start');
    const pgid = stack.child.pid as number;
    expect(groupMembers(pgid).length).toBeGreaterThanOrEqual(3);
    process.kill(pgid, signal);
    await until(() => groupMembers(pgid).length === 0, `every process of the stack to end after ${signal}`, 20_000);
    expect(await portFree(port)).toBe(true);
    expect(stack.output()).toContain('stopped cleanly');
  });

  it('refuses a second start on the same data folder in one line, and an unknown flag with the known ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'moment-twice-'));
    const first = npmStart({ PORT: String(await freePort()), LOCAL_DATA_DIR: dataDir });
    started.push(first);
    await until(() => first.output().includes('local stack is up'), 'the first stack to start');
    const second = npmStart({ PORT: String(await freePort()), LOCAL_DATA_DIR: dataDir });
    started.push(second);
    expect(await second.exited).toBe(1);
    const refusal = second.output().split('\n').filter((l) => l.startsWith('npm start:'));
    expect(refusal).toEqual([expect.stringContaining(`another local stack (process `)]);
    expect(second.output()).not.toMatch(/LEVEL_LOCKED|LOCK:|at .*\.js:\d+/);
    process.kill(first.child.pid as number, 'SIGTERM');
    await until(() => groupMembers(first.child.pid as number).length === 0, 'the first stack to stop');

    const unknown = npmStart({ LOCAL_DATA_DIR: dataDir }, ['--fersh']);
    started.push(unknown);
    expect(await unknown.exited).toBe(2);
    expect(unknown.output()).toContain("npm start: Unknown option '--fersh'");
    for (const flag of ['--in-memory', '--fresh', '--help']) expect(unknown.output()).toContain(flag);
  });
});
