/**
 * A real one-node Slurm cluster for a test: munged, slurmctld and slurmd (Debian's slurm-wlm
 * and munge) started as children of the test process, with a private munge key and socket, a
 * temp slurm.conf on free ports and temp state folders, so nothing in /etc or /run is used and
 * another cluster on the same machine (a second test run) does not interfere. Stopped by PID.
 *
 * Settings that work without systemd or cgroups (checked on Slurm 22.05): proctrack/linuxproc,
 * task/none, no accounting; the node line comes from `slurmd -C`. Slurm runs the jobs as the
 * submitting user; slurmd started by root runs root's jobs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SLURM_BINARIES = ['munged', 'mungekey', 'slurmctld', 'slurmd', 'sbatch', 'sinfo', 'scontrol', 'scancel'];

/** The binaries this needs that are not on PATH (or in /usr/sbin, where Debian puts the daemons). */
export function missingBinaries(): string[] {
  return SLURM_BINARIES.filter((b) => which(b) === undefined);
}

function which(bin: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin']) {
    if (dir && existsSync(join(dir, bin))) return join(dir, bin);
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Cluster {
  dir: string;
  /** Environment for Slurm's client commands (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Run a client command (sbatch, scontrol…) against this cluster. */
  client(cmd: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): { code: number | null; stdout: string; stderr: string };
  /** Wait until every task of a job is in a final state; returns each task's state and exit code. */
  waitForJob(jobId: string, timeoutMs: number): Promise<JobTask[]>;
  stop(): Promise<void>;
}

export interface JobTask {
  jobId: string;
  taskId: string | undefined;
  state: string;
  reason: string;
  exitCode: string;
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE']);

function field(line: string, name: string): string {
  return new RegExp(`(?:^| )${name}=(\\S*)`).exec(line)?.[1] ?? '';
}

export async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-slurm-'));
  chmodSync(dir, 0o755);
  const children: ChildProcess[] = [];
  const logs = join(dir, 'log');
  for (const d of ['munge', 'state', 'spool', 'log']) mkdirSync(join(dir, d), { mode: 0o755 });

  const start = (cmd: string, args: string[]): ChildProcess => {
    const child = spawn(which(cmd) ?? cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-4000)));
    child.on('exit', (code, signal) => writeFileSync(join(logs, `${cmd}.exit`), `${String(code)} ${String(signal)}\n${err}`));
    children.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    // Last started first: slurmd, slurmctld, then munged. SIGTERM, then SIGKILL after 5 s.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    process.off('exit', killAll);
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies abruptly must not leave daemons behind.
  const killAll = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  process.once('exit', killAll);

  try {
    const socket = join(dir, 'munge', 'munge.socket');
    const key = join(dir, 'munge', 'munge.key');
    const mk = spawnSync(which('mungekey') ?? 'mungekey', ['--create', '--keyfile', key], { encoding: 'utf8' });
    if (mk.status !== 0) throw new Error(`mungekey --create failed: ${mk.stderr}`);
    // --force: munged refuses to run as root otherwise; the key, socket and logs are private to this test.
    start('munged', ['--foreground', '--force', `--socket=${socket}`, `--key-file=${key}`, `--log-file=${join(logs, 'munged.log')}`, `--pid-file=${join(dir, 'munge', 'munged.pid')}`, `--seed-file=${join(dir, 'munge', 'munged.seed')}`]);
    for (let i = 0; i < 50 && !existsSync(socket); i++) await sleep(100);
    if (!existsSync(socket)) throw new Error(`munged did not create its socket; ${readLog(logs, 'munged')}`);

    const node = spawnSync(which('slurmd') ?? 'slurmd', ['-C'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
    // The name slurmd knows itself by (the short host name), also the controller's host name:
    // slurmctld refuses to start unless SlurmctldHost names the machine it runs on.
    const nodeName = /^NodeName=(\S+)/.exec(node)?.[1];
    if (!nodeName) throw new Error(`slurmd -C printed no node line: ${node}`);
    // RealMemory as reported; memory is not a consumable resource here (CR_Core), so tasks that
    // request no memory can share the node.
    const conf = join(dir, 'slurm.conf');
    writeFileSync(
      conf,
      [
        'ClusterName=convergetest',
        `SlurmctldHost=${nodeName}(127.0.0.1)`,
        `SlurmctldPort=${await freePort()}`,
        `SlurmdPort=${await freePort()}`,
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${socket}`,
        `StateSaveLocation=${join(dir, 'state')}`,
        `SlurmdSpoolDir=${join(dir, 'spool')}`,
        `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${join(logs, 'slurmctld.log')}`,
        `SlurmdLogFile=${join(logs, 'slurmd.log')}`,
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_Core',
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'ReturnToService=2',
        // Keep finished jobs visible to `scontrol show job` for the whole test.
        'MinJobAge=600',
        `${node} NodeAddr=127.0.0.1 State=UNKNOWN`,
        'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, SLURM_CONF: conf };
    start('slurmctld', ['-D', '-c', '-f', conf]);
    start('slurmd', ['-D', '-f', conf]);
    const client: Cluster['client'] = (cmd, args, options = {}) => {
      const r = spawnSync(cmd, args, { cwd: options.cwd ?? dir, env: { ...env, ...options.env }, encoding: 'utf8', timeout: 30_000 });
      return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
    };
    let idle = false;
    for (let i = 0; i < 120 && !idle; i++) {
      idle = /^idle/.test(client('sinfo', ['--noheader', '--format=%t']).stdout.trim());
      if (!idle) await sleep(250);
    }
    if (!idle) throw new Error(`the Slurm node did not become idle within 30 s; ${readLog(logs, 'slurmctld')} ${readLog(logs, 'slurmd')}`);

    const waitForJob: Cluster['waitForJob'] = async (jobId, timeoutMs) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const r = client('scontrol', ['--oneliner', 'show', 'job', jobId]);
        const tasks = r.stdout
          .split('\n')
          .filter((l) => l.startsWith('JobId='))
          .map((l) => ({
            jobId: field(l, 'JobId'),
            taskId: field(l, 'ArrayTaskId') || undefined,
            state: field(l, 'JobState'),
            reason: field(l, 'Reason'),
            exitCode: field(l, 'ExitCode'),
          }));
        // A pending array is one line with ArrayTaskId=1-2; it splits as tasks start.
        if (tasks.length > 0 && tasks.every((t) => FINAL.has(t.state))) return tasks;
        if (Date.now() > end) throw new Error(`job ${jobId} not finished after ${timeoutMs / 1000} s: ${r.stdout}${r.stderr}`);
        await sleep(300);
      }
    };
    return { dir, env, client, waitForJob, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

function readLog(logs: string, name: string): string {
  for (const f of [`${name}.log`, `${name}.exit`]) {
    try {
      return `${name}: ${readFileSync(join(logs, f), 'utf8').slice(-1500)}`;
    } catch {
      /* try the next */
    }
  }
  return `${name}: no log`;
}
