// The frontend's pure parts: the HAProxy configuration it renders (checks on /health, retries
// that cannot repeat a write, no cut sessions when a replica goes DOWN) and the parsing of the
// runtime API's `show stat`, against an answer in HAProxy 2.6's column order.
import test from 'ava';
import { InvalidArgumentError } from '@resilience/fixtures';
import { FRONTEND_CHECKS, FRONTEND_PORTS, parseShowStat, renderFrontendConfig } from '../../src/frontend.ts';

const servers = [{ name: 'app-1', host: '172.18.0.5', port: 8080 }, { name: 'app-2', host: '172.18.0.6', port: 8080 }];

test('the configuration balances over every server, checked on GET /health every 500 ms', (t) => {
  const cfg = renderFrontendConfig(servers);
  t.regex(cfg, new RegExp(`bind :${FRONTEND_PORTS.http}\\n`));
  t.regex(cfg, new RegExp(`stats socket ipv4@0\\.0\\.0\\.0:${FRONTEND_PORTS.runtime} level admin`));
  t.regex(cfg, /option httpchk GET \/health\n\s+http-check expect status 200/);
  t.regex(cfg, /server app-1 172\.18\.0\.5:8080 check\n\s+server app-2 172\.18\.0\.6:8080 check/);
  t.regex(cfg, new RegExp(`default-server inter ${FRONTEND_CHECKS.interMs}ms fall ${FRONTEND_CHECKS.fall} rise ${FRONTEND_CHECKS.rise}`));
  // Only connection failures are retried (nothing reached the app); a draining replica's requests are not cut.
  t.regex(cfg, /option redispatch/);
  t.notRegex(cfg, /retry-on|shutdown-sessions/);
  t.regex(renderFrontendConfig(servers, { interMs: 200, fall: 3, rise: 1 }), /default-server inter 200ms fall 3 rise 1/);
});

test('bad servers and checks are refused with the value named', (t) => {
  const bad: [unknown[], unknown, RegExp][] = [
    [[], undefined, /servers/],
    [[{ name: 'App 1', host: 'x', port: 1 }], undefined, /server name.*App 1/],
    [[{ name: 'a', host: 'x y', port: 1 }], undefined, /server host.*x y/],
    [[{ name: 'a', host: 'x', port: 70000 }], undefined, /server port.*70000/],
    [[servers[0], servers[0]], undefined, /distinct server names/],
    [servers, { interMs: 0, fall: 1, rise: 1 }, /checks\.interMs.*0/],
  ];
  for (const [s, checks, message] of bad) {
    const e = t.throws(() => renderFrontendConfig(s as never, checks as never), { instanceOf: InvalidArgumentError });
    t.regex(e.message, message);
  }
});

const HEADER = '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo';

/** A row with the given columns set, the rest empty. */
function row(values: Record<string, string>): string {
  return HEADER.replace(/^# /, '').split(',').map((c) => values[c] ?? '').join(',');
}

test('show stat: the servers of the apps backend with status, requests in flight, last check and address', (t) => {
  const csv = [
    HEADER,
    row({ pxname: 'web', svname: 'FRONTEND', status: 'OPEN', scur: '12' }),
    row({ pxname: 'apps', svname: 'app-1', status: 'UP', scur: '4', check_status: 'L7OK', addr: '172.18.0.5:8080' }),
    row({ pxname: 'apps', svname: 'app-2', status: 'DRAIN', scur: '2', check_status: 'L7OK', addr: '172.18.0.6:8080' }),
    row({ pxname: 'apps', svname: 'app-3', status: 'DOWN 1/2', scur: '0', check_status: '* L7STS', addr: '172.18.0.7:8080' }),
    row({ pxname: 'apps', svname: 'BACKEND', status: 'UP', scur: '6' }),
    '',
  ].join('\n');
  t.deepEqual(parseShowStat(csv), [
    { name: 'app-1', status: 'UP', current: 4, checkStatus: 'L7OK', address: '172.18.0.5:8080' },
    { name: 'app-2', status: 'DRAIN', current: 2, checkStatus: 'L7OK', address: '172.18.0.6:8080' },
    { name: 'app-3', status: 'DOWN 1/2', current: 0, checkStatus: 'L7STS', address: '172.18.0.7:8080' },
  ]);
  t.deepEqual(parseShowStat(csv, 'other'), []);
});

test('an answer that is not show stat is an error, not an empty list', (t) => {
  t.throws(() => parseShowStat('Unknown command.\n'), { message: /not a show stat answer/ });
});
