// The resource sampler's arithmetic: Docker's stats to memory working set, CPU % and
// processes as `docker stats` shows them; container names as people know them.
import test from 'ava';
import { fromDockerStats, shortName } from '../../src/resources.ts';

test('memory is usage less inactive page cache (cgroup v2 and v1 names); CPU over Docker\'s sampling period; processes', (t) => {
  const v2 = fromDockerStats({
    memory_stats: { usage: 300 * 2 ** 20, stats: { inactive_file: 100 * 2 ** 20 } },
    cpu_stats: { cpu_usage: { total_usage: 2_500_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
    precpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 18_000_000_000 },
    pids_stats: { current: 12 },
  });
  t.is(v2.memoryBytes, 200 * 2 ** 20);
  // 0.5 s of CPU over 2 s of (2-CPU) system time: 25 % of the machine, 50 % of one core.
  t.is(v2.cpuPercent, 50);
  t.is(v2.pids, 12);
  t.is(fromDockerStats({ memory_stats: { usage: 1000, stats: { total_inactive_file: 400 } } }).memoryBytes, 600);
});

test('a stopped container (no usage, no previous CPU sample) has no readings rather than zeros', (t) => {
  t.deepEqual(fromDockerStats({ memory_stats: {}, cpu_stats: { cpu_usage: { total_usage: 0 } }, precpu_stats: {}, pids_stats: {} }), {});
});

test('short names drop the run prefix only', (t) => {
  t.is(shortName('/rz-20261202-abc-pgha-pg1', '20261202-abc'), 'pgha-pg1');
  t.is(shortName('rz-other-run-pg1', '20261202-abc'), 'rz-other-run-pg1');
});
