/**
 * A control group's CPU quota lowers the default thread count (src/io/cpu-quota.ts). Each case
 * lays out the files Linux shows (/proc/self/cgroup and the cgroup mount) in a temporary folder,
 * as a Kubernetes pod, a container with its own cgroup namespace, a cgroup v1 Docker container and
 * an unlimited host show them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cgroupCpuQuota, coresOfQuota, parseCpuMax, parseProcCgroup } from '../src/io/cpu-quota.js';
import { DEFAULT_MAX_THREADS, defaultThreads } from '../src/blend/thread-count.js';

/** Writes `files` (paths relative to a new folder) and returns the reader's view of them. */
function layout(t: { after(fn: () => void): void }, procSelfCgroup: string, files: Record<string, string>): { procSelfCgroup: string; cgroupMount: string } {
  const root = mkdtempSync(join(tmpdir(), 'cpu-quota-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string): void => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('proc/self/cgroup', procSelfCgroup);
  for (const [path, text] of Object.entries(files)) write(join('sys/fs/cgroup', path), text);
  mkdirSync(join(root, 'sys/fs/cgroup'), { recursive: true });
  return { procSelfCgroup: join(root, 'proc/self/cgroup'), cgroupMount: join(root, 'sys/fs/cgroup') };
}

test('quotas in whole cores: rounded down, at least one; none for "max", -1 or nonsense', () => {
  assert.equal(coresOfQuota(400_000, 100_000), 4);
  assert.equal(coresOfQuota(250_000, 100_000), 2);
  assert.equal(coresOfQuota(50_000, 100_000), 1);
  assert.equal(coresOfQuota(-1, 100_000), undefined);
  assert.equal(coresOfQuota(Number.NaN, 100_000), undefined);
  assert.equal(coresOfQuota(100_000, 0), undefined);
  assert.equal(parseCpuMax('max 100000\n'), undefined);
  assert.equal(parseCpuMax('800000 100000\n'), 8);
  assert.equal(parseCpuMax(''), undefined);
});

test('/proc/self/cgroup gives the v2 path and the v1 cpu controller path', () => {
  assert.deepEqual(parseProcCgroup('0::/kubepods/pod1/c1\n'), { v2: '/kubepods/pod1/c1' });
  assert.deepEqual(parseProcCgroup('4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n'), { v1Cpu: '/docker/abc', v2: '/' });
  assert.deepEqual(parseProcCgroup('2:cpuacct:/a\n1:cpu:/b\n'), { v1Cpu: '/b' });
});

test('cgroup v2: a limit on the pod binds its container, whose own cpu.max says max', (t) => {
  const files = layout(t, '0::/kubepods/pod1/c1\n', {
    'kubepods/pod1/c1/cpu.max': 'max 100000\n',
    'kubepods/pod1/cpu.max': '400000 100000\n',
    'kubepods/cpu.max': 'max 100000\n',
  });
  assert.equal(cgroupCpuQuota(files), 4);
});

test('cgroup v2 in a container with its own namespace: the root cpu.max is the container\'s', (t) => {
  assert.equal(cgroupCpuQuota(layout(t, '0::/\n', { 'cpu.max': '250000 100000\n' })), 2);
});

test('cgroup v1 in a Docker container: the host path is not under the mount, its root holds the quota', (t) => {
  const files = layout(t, '3:cpu,cpuacct:/docker/abc\n', { 'cpu,cpuacct/cpu.cfs_quota_us': '300000\n', 'cpu,cpuacct/cpu.cfs_period_us': '100000\n' });
  assert.equal(cgroupCpuQuota(files), 3);
});

test('no quota: v1 quota -1 and a v2 group without cpu.max, or no cgroup files at all', (t) => {
  const unlimited = layout(t, '1:cpu:/\n0::/\n', { 'cpu/cpu.cfs_quota_us': '-1\n', 'cpu/cpu.cfs_period_us': '100000\n' });
  assert.equal(cgroupCpuQuota(unlimited), undefined);
  assert.equal(cgroupCpuQuota({ procSelfCgroup: join(tmpdir(), 'no-such-folder-ema-synth', 'cgroup'), cgroupMount: '/nonexistent' }), undefined);
});

test('the default thread count takes the quota when it is lower than the cores', () => {
  assert.equal(defaultThreads(1), 1);
  assert.equal(defaultThreads(undefined), Math.min(availableParallelism(), DEFAULT_MAX_THREADS));
  assert.equal(defaultThreads(1000), Math.min(availableParallelism(), DEFAULT_MAX_THREADS));
});
