/**
 * The CPU quota a Linux control group sets on this process, in whole cores: a Kubernetes pod with a
 * CPU limit of 4 on a 64-core node may run 4 cores' worth of threads. Node 20's
 * os.availableParallelism() counts the cores the process may be scheduled on (its affinity) but not
 * this quota (libuv reads it from 1.49, which Node 20 does not ship), so a blend there would start
 * 16 threads to share 4 cores' time, with 16 threads' memory.
 *
 * cgroup v2: cpu.max ("max 100000" or "<quota> <period>") in the process's group and every group
 * above it (a limit set on a parent binds too). cgroup v1: cpu.cfs_quota_us (-1: none) and
 * cpu.cfs_period_us in the cpu controller's group. A container usually sees its own group as the
 * mount's root while /proc/self/cgroup names the host's path, so a path that does not exist under
 * the mount falls back to the root. A fractional quota rounds down (2.5 cores: 2), at least 1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Whole cores a quota of `quota` microseconds per `period` allows; undefined for none (-1, or NaN from "max" or an unreadable file). */
export function coresOfQuota(quota: number, period: number): number | undefined {
  if (!(quota > 0 && period > 0)) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** cpu.max of cgroup v2: "<quota> <period>", or "max <period>" for none ("max" reads as NaN: no quota). */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  return coresOfQuota(Number(quota), Number(period));
}

/** The group paths /proc/self/cgroup gives: v2's "0::path" and v1's cpu controller's. */
export function parseProcCgroup(text: string): { v2?: string; v1Cpu?: string } {
  const paths: { v2?: string; v1Cpu?: string } = {};
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const [id, controllers, path] = [line.slice(0, first), line.slice(first + 1, second), line.slice(second + 1)];
    if (id === '0' && controllers === '') paths.v2 = path;
    else if (controllers.split(',').includes('cpu')) paths.v1Cpu = path;
  }
  return paths;
}

/** Where the reader looks: the real files, or a copy of their layout (tests). */
export interface CgroupFiles {
  readonly procSelfCgroup: string;
  readonly cgroupMount: string;
}

const SYSTEM: CgroupFiles = { procSelfCgroup: '/proc/self/cgroup', cgroupMount: '/sys/fs/cgroup' };

/** The quota in whole cores, or undefined when there is none or it cannot be read (not Linux, say). */
export function cgroupCpuQuota(files: CgroupFiles = SYSTEM): number | undefined {
  const proc = readText(files.procSelfCgroup);
  if (proc === undefined) return undefined;
  const { v2, v1Cpu } = parseProcCgroup(proc);
  const quotas: number[] = [];
  if (v2 !== undefined) {
    for (const group of groupAndAncestors(files.cgroupMount, v2, 'cpu.max')) {
      const cores = parseCpuMax(readText(join(group, 'cpu.max')) ?? 'max');
      if (cores !== undefined) quotas.push(cores);
    }
  }
  if (v1Cpu !== undefined) {
    for (const mount of [join(files.cgroupMount, 'cpu'), join(files.cgroupMount, 'cpu,cpuacct')]) {
      const [group] = groupAndAncestors(mount, v1Cpu, 'cpu.cfs_quota_us');
      if (group === undefined) continue;
      const cores = coresOfQuota(Number(readText(join(group, 'cpu.cfs_quota_us'))), Number(readText(join(group, 'cpu.cfs_period_us'))));
      if (cores !== undefined) quotas.push(cores);
      break;
    }
  }
  return quotas.length > 0 ? Math.min(...quotas) : undefined;
}

/** The group's folder and its parents' under `mount` that hold `file`; the mount's root alone if the path is not there. */
function groupAndAncestors(mount: string, path: string, file: string): string[] {
  const parts = path.split('/').filter((part) => part !== '' && part !== '..' && part !== '.');
  const folders: string[] = [];
  for (let depth = parts.length; depth >= 0; depth--) {
    const folder = join(mount, ...parts.slice(0, depth));
    if (readText(join(folder, file)) !== undefined) folders.push(folder);
  }
  return folders;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
