/* global uPlot, document, window, getComputedStyle */
// Draws report.html's charts in the browser from the inline JSON: per probe, latency p50/p99
// (log scale) and success rate per bucket, with faults, heals and phases marked. No network.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var tl = data.timeline;
  var root = document.documentElement;
  var css = getComputedStyle(root);
  var color = function (name) { return css.getPropertyValue(name).trim(); };
  var P50 = color('--p50');
  var P99 = color('--p99');
  var OK = color('--ok');
  var FAIL = color('--fail');
  var endS = Math.max(data.run.durationMs, tl.t.length ? tl.t[tl.t.length - 1] + tl.bucketMs : 0) / 1000;
  var x = tl.t.map(function (t) { return (t + tl.bucketMs / 2) / 1000; });

  function fmtMs(v) {
    if (v == null) return '—';
    if (v >= 1000) return (v / 1000).toFixed(v >= 10000 ? 0 : 1) + ' s';
    if (v >= 1) return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ms';
    return (v * 1000).toFixed(0) + ' µs';
  }
  // Axis ticks: 1 ms, 20 ms, 1 s (no trailing zeros).
  function fmtTick(v) {
    if (v == null) return '';
    if (v >= 1000) return +(v / 1000).toPrecision(3) + ' s';
    if (v >= 1) return +v.toPrecision(3) + ' ms';
    return +(v * 1000).toPrecision(3) + ' µs';
  }
  // Grid lines on decades only (1-2-5 steps when the range is under two decades): uPlot's
  // default 1..9 steps per decade make a dense comb on a short chart.
  function logSplits(u, axisIdx, min, max) {
    var out = [];
    var steps = Math.log10(max / min) < 2 ? [1, 2, 5] : [1];
    for (var d = Math.pow(10, Math.floor(Math.log10(min))); d <= max * 1.0001; d *= 10) {
      steps.forEach(function (k) {
        var v = +(d * k).toPrecision(6);
        if (v >= min * 0.9999 && v <= max * 1.0001) out.push(v);
      });
    }
    return out;
  }
  // Time axis: seconds for short runs, minutes, then hours, on round steps of each.
  var X_STEPS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  function fmtSeconds(v) {
    if (endS <= 900) return +v.toFixed(2) + ' s';
    if (endS <= 3 * 3600) return +(v / 60).toFixed(1) + ' min';
    return +(v / 3600).toFixed(2) + ' h';
  }

  // Fault windows shaded and failing buckets as a red ribbon, under the series; marker lines
  // and labels over them, labels in the top padding, staggered on two rows to avoid overlaps.
  function markersPlugin(probe) {
    var px = uPlot.pxRatio;
    return {
      hooks: {
        drawClear: [function (u) {
          var ctx = u.ctx;
          var b = u.bbox;
          ctx.save();
          ctx.beginPath();
          ctx.rect(b.left, b.top, b.width, b.height);
          ctx.clip();
          data.faults.forEach(function (f) {
            var x0 = u.valToPos(f.at / 1000, 'x', true);
            var x1 = u.valToPos((f.healedAt == null ? endS * 1000 : f.healedAt) / 1000, 'x', true);
            ctx.fillStyle = 'rgba(207, 34, 46, 0.08)';
            ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
          });
          var h = 7 * px;
          probe.failures.forEach(function (n, i) {
            if (!n) return;
            var share = n / probe.attempts[i];
            var x0 = u.valToPos(tl.t[i] / 1000, 'x', true);
            var x1 = u.valToPos((tl.t[i] + tl.bucketMs) / 1000, 'x', true);
            ctx.fillStyle = 'rgba(207, 34, 46, ' + (0.25 + 0.6 * share).toFixed(3) + ')';
            ctx.fillRect(x0, b.top + b.height - h, Math.max(1, x1 - x0), h);
          });
          ctx.restore();
        }],
        draw: [function (u) {
          var ctx = u.ctx;
          var b = u.bbox;
          var rows = [-Infinity, -Infinity];
          ctx.save();
          ctx.font = (11 * px) + 'px system-ui, sans-serif';
          ctx.textBaseline = 'bottom';
          tl.markers.forEach(function (m) {
            var xp = Math.round(u.valToPos(m.at / 1000, 'x', true));
            if (xp < b.left - 1 || xp > b.left + b.width + 1) return;
            var stroke = m.kind === 'fault' ? FAIL : m.kind === 'heal' ? OK : '#8c959f';
            var label = m.kind === 'fault' ? '⚡ ' + m.label : m.label;
            var w = ctx.measureText(label).width;
            var pad = 4 * px;
            var left = xp + pad;
            if (left + w > b.left + b.width) left = xp - pad - w;
            var row = rows[0] < left - pad ? 0 : rows[1] < left - pad ? 1 : (rows[0] <= rows[1] ? 0 : 1);
            rows[row] = left + w;
            var y = b.top - (row === 0 ? 19 : 4) * px;
            ctx.strokeStyle = stroke;
            ctx.lineWidth = (m.kind === 'fault' ? 2 : 1.25) * px;
            ctx.setLineDash(m.kind === 'fault' ? [] : [5 * px, 4 * px]);
            ctx.beginPath();
            ctx.moveTo(xp + 0.5, y - 2 * px);
            ctx.lineTo(xp + 0.5, b.top + b.height);
            ctx.stroke();
            ctx.fillStyle = m.kind === 'phase' ? '#57606a' : stroke;
            ctx.font = (m.kind === 'phase' ? '' : '600 ') + (11 * px) + 'px system-ui, sans-serif';
            ctx.fillText(label, left, y);
          });
          ctx.restore();
        }],
      },
    };
  }

  // Values under the cursor, in a small box that follows it (uPlot's legend is hidden).
  function tooltipPlugin(probe) {
    var tip;
    return {
      hooks: {
        init: [function (u) {
          tip = document.createElement('div');
          tip.className = 'tip';
          tip.style.display = 'none';
          u.over.appendChild(tip);
        }],
        setCursor: [function (u) {
          var i = u.cursor.idx;
          if (i == null || u.cursor.left < 0) { tip.style.display = 'none'; return; }
          var t0 = tl.t[i] / 1000;
          var rows = [
            ['time', t0.toFixed(2) + '–' + ((tl.t[i] + tl.bucketMs) / 1000).toFixed(2) + ' s'],
            ['success', probe.successRate[i] == null ? '—' : (probe.successRate[i] * 100).toFixed(1) + ' %'],
            ['failed', probe.failures[i] + ' of ' + probe.attempts[i]],
            ['p50', fmtMs(probe.p50Ms[i])],
            ['p99', fmtMs(probe.p99Ms[i])],
          ];
          tip.textContent = '';
          rows.forEach(function (r) {
            var line = document.createElement('div');
            var k = document.createElement('span');
            k.textContent = r[0];
            line.appendChild(k);
            line.appendChild(document.createTextNode(r[1]));
            tip.appendChild(line);
          });
          tip.style.display = 'block';
          var left = u.cursor.left + 14;
          if (left + tip.offsetWidth > u.over.clientWidth) left = u.cursor.left - 14 - tip.offsetWidth;
          tip.style.left = left + 'px';
          tip.style.top = Math.max(0, Math.min(u.cursor.top + 14, u.over.clientHeight - tip.offsetHeight)) + 'px';
        }],
      },
    };
  }

  var charts = [];
  var drawn = 0;
  function markDrawn() {
    drawn += 1;
    if (drawn === tl.probes.length) root.dataset.chartsReady = 'true';
  }
  if (tl.probes.length === 0) root.dataset.chartsReady = 'true';

  tl.probes.forEach(function (probe, i) {
    var el = document.getElementById('chart-' + i);
    var rate = probe.successRate.map(function (v) { return v == null ? null : v * 100; });
    var clampMs = function (v) { return v == null ? null : Math.max(v, 0.01); };
    var first = true;
    var opts = {
      width: el.clientWidth,
      height: 290,
      padding: [40, 12, 0, 4],
      cursor: { drag: { x: true, y: false } },
      legend: { show: false },
      scales: {
        x: { time: false, range: [0, endS] },
        ms: {
          distr: 3,
          log: 10,
          range: function (u, min, max) {
            if (min == null || !(min > 0)) min = 0.1;
            if (max == null || !(max > min)) max = min * 10;
            // A little slack: an HDR value of 1000.4 ms should not open another decade.
            return [Math.pow(10, Math.floor(Math.log10(min) + 0.01)), Math.pow(10, Math.ceil(Math.log10(max) - 0.01))];
          },
        },
        rate: { range: [0, 105] },
      },
      axes: [
        { stroke: '#57606a', grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d8dee4' }, incrs: X_STEPS, values: function (u, vals) { return vals.map(fmtSeconds); } },
        { scale: 'ms', stroke: '#57606a', size: 64, label: 'latency', labelSize: 18, grid: { stroke: '#eaeef2' }, ticks: { stroke: '#d8dee4' }, splits: logSplits, values: function (u, vals) { return vals.map(fmtTick); } },
        { scale: 'rate', side: 1, stroke: OK, size: 52, label: 'success', labelSize: 18, grid: { show: false }, ticks: { stroke: '#d8dee4' }, splits: function () { return [0, 25, 50, 75, 100]; }, values: function (u, vals) { return vals.map(function (v) { return v + ' %'; }); } },
      ],
      series: [
        { label: 't', value: function (u, v) { return v == null ? '—' : v.toFixed(2) + ' s'; } },
        { label: 'success', scale: 'rate', stroke: OK, width: 1.5, points: { show: false }, value: function (u, v) { return v == null ? '—' : v.toFixed(1) + ' %'; } },
        { label: 'p50', scale: 'ms', stroke: P50, width: 1.5, points: { show: false }, value: function (u, v) { return fmtMs(v); } },
        { label: 'p99', scale: 'ms', stroke: P99, width: 1.5, points: { show: false }, value: function (u, v) { return fmtMs(v); } },
      ],
      hooks: { draw: [function () { if (first) { first = false; markDrawn(); } }] },
      plugins: [markersPlugin(probe), tooltipPlugin(probe)],
    };
    charts.push({ el: el, chart: new uPlot(opts, [x, rate, probe.p50Ms.map(clampMs), probe.p99Ms.map(clampMs)], el) });
  });

  window.addEventListener('resize', function () {
    charts.forEach(function (c) { c.chart.setSize({ width: c.el.clientWidth, height: 290 }); });
  });
})();
