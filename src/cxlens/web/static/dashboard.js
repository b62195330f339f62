/* cxlens dashboard: turns the chart specs of a page (JSON in .page-data) into Apache ECharts charts. */
(function () {
  "use strict";
  var COLORS = ["#2f6fdf", "#e4572e", "#17a398", "#f3a712", "#7b5ea7", "#5d6d7e", "#c44569", "#3dc1d3"];
  var charts = [];

  function fmt(v) { return v === null || v === undefined ? "\u2013" : (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2)); }

  function band(spec) {
    var series = [];
    spec.series.forEach(function (s, i) {
      var c = COLORS[i % COLORS.length], stack = "band" + i;
      series.push({ name: s.name + " low", type: "line", data: s.low, stack: stack, symbol: "none",
        lineStyle: { opacity: 0 }, areaStyle: { opacity: 0 }, tooltip: { show: false }, silent: true, connectNulls: false });
      series.push({ name: s.name + " interval", type: "line", symbol: "none", stack: stack, silent: true,
        data: s.high.map(function (h, j) { return h === null || s.low[j] === null ? null : h - s.low[j]; }),
        lineStyle: { opacity: 0 }, areaStyle: { color: c, opacity: 0.15 }, tooltip: { show: false } });
      series.push({ name: s.name, type: "line", data: s.data, color: c, symbolSize: 6, connectNulls: true,
        markPoint: { symbol: "diamond", symbolSize: 14, itemStyle: { color: "#d62728" }, label: { show: false },
          data: s.data.map(function (v, j) { return s.significant[j] ? { coord: [j, v], value: "\u0394" } : null; })
            .filter(function (x) { return x; }) } });
    });
    spec.series.forEach(function (s, i) {
      // an isolated point has no band to draw: show its interval as an error bar
      var lone = s.data.map(function (v, j) {
        return v !== null && (j === 0 || s.data[j - 1] === null) && (j === s.data.length - 1 || s.data[j + 1] === null);
      });
      if (!lone.some(function (x) { return x; })) return;
      series.push({ type: "custom", name: s.name + " interval", silent: true, tooltip: { show: false }, z: 3,
        itemStyle: { color: COLORS[i % COLORS.length] },
        renderItem: function (params, api) {
          var x = api.value(0), lo = api.coord([x, api.value(1)]), hi = api.coord([x, api.value(2)]);
          var st = { stroke: COLORS[i % COLORS.length], lineWidth: 2 };
          return { type: "group", children: [
            { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: st },
            { type: "line", shape: { x1: lo[0] - 6, y1: lo[1], x2: lo[0] + 6, y2: lo[1] }, style: st },
            { type: "line", shape: { x1: hi[0] - 6, y1: hi[1], x2: hi[0] + 6, y2: hi[1] }, style: st }] };
        },
        data: s.data.map(function (v, j) { return lone[j] ? [j, s.low[j], s.high[j]] : null; })
          .filter(function (x) { return x; }) });
    });
    return {
      color: COLORS, grid: { left: 48, right: 16, top: 30, bottom: 40 },
      tooltip: { trigger: "axis", formatter: function (ps) {
        var j = ps[0].dataIndex, out = spec.x[j];
        spec.series.forEach(function (s) {
          if (s.data[j] !== null) out += "<br>" + s.name + ": <b>" + fmt(s.data[j]) + "</b> (" + fmt(s.low[j]) + " \u2026 " +
            fmt(s.high[j]) + ", n = " + s.n[j] + ")" + (s.significant[j] ? " \u25c6 significant change" : "");
        });
        return out; } },
      legend: { data: spec.series.map(function (s) { return s.name; }), top: 0, type: "scroll" },
      xAxis: { type: "category", data: spec.x, boundaryGap: spec.x.length < 4, name: spec.x_label,
        nameLocation: "middle", nameGap: 26 },
      yAxis: bounded({ type: "value", scale: true, name: spec.y_label }, spec), series: series
    };
  }

  // a score's axis never runs past what the score can take (an NPS of 150): when the data come within a fifth
  // of their span of a bound, the axis stops at the bound; otherwise ECharts picks it (null = automatic)
  function bounded(axis, spec) {
    if (spec.y_min === undefined && spec.y_max === undefined) return axis;
    axis.min = function (v) {
      return spec.y_min !== undefined && v.min - (v.max - v.min) * 0.2 <= spec.y_min ? spec.y_min : null; };
    axis.max = function (v) {
      return spec.y_max !== undefined && v.max + (v.max - v.min) * 0.2 >= spec.y_max ? spec.y_max : null; };
    return axis;
  }

  function bar(spec) {
    var cat = { type: "category", data: spec.x, inverse: !!spec.horizontal,
      axisLabel: { width: 160, overflow: "truncate" } };
    var val = { type: "value" };
    return { color: COLORS, tooltip: { trigger: "axis" },
      grid: { left: spec.horizontal ? 170 : 48, right: 24, top: 16, bottom: 30 },
      xAxis: spec.horizontal ? val : cat, yAxis: spec.horizontal ? cat : val,
      series: spec.series.map(function (s) { return { name: s.name, type: "bar", data: s.data, barMaxWidth: 28,
        label: { show: true, position: spec.horizontal ? "right" : "top" } }; }) };
  }

  function funnel(spec) {
    var d = spec.series[0].data, first = d[0] || 1;
    return { color: COLORS, tooltip: { trigger: "axis" }, grid: { left: 48, right: 24, top: 24, bottom: 30 },
      xAxis: { type: "category", data: spec.x }, yAxis: { type: "value" },
      series: [{ type: "bar", data: d, barMaxWidth: 60, label: { show: true, position: "top",
        formatter: function (p) { return p.value + " (" + Math.round(p.value / first * 100) + "%)"; } } }] };
  }

  function heatmap(spec) {
    var max = 0; spec.data.forEach(function (d) { if (d[2] > max) max = d[2]; });
    return { tooltip: { formatter: function (p) { return spec.y[p.value[1]] + ", " + spec.x[p.value[0]] + ": " + fmt(p.value[2]) + "%"; } },
      grid: { left: 90, right: 24, top: 10, bottom: 60 },
      xAxis: { type: "category", data: spec.x }, yAxis: { type: "category", data: spec.y, inverse: true },
      visualMap: { min: 0, max: max || 1, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120,
        inRange: { color: ["#f0f4fb", "#2f6fdf"] } },
      series: [{ type: "heatmap", data: spec.data, label: { show: true, formatter: function (p) { return Math.round(p.value[2]); } } }] };
  }

  function interval(spec) {
    var s = spec.series[0];
    return { color: COLORS, tooltip: { trigger: "axis" }, grid: { left: 48, right: 24, top: 16, bottom: 30 },
      xAxis: { type: "category", data: spec.x }, yAxis: { type: "value", min: 0, max: 100 },
      series: [{ type: "bar", name: s.name, data: s.data, barMaxWidth: 40 },
        { type: "custom", name: "95% interval", renderItem: function (params, api) {
          var x = api.value(0), lo = api.coord([x, api.value(1)]), hi = api.coord([x, api.value(2)]);
          var st = api.style({ stroke: "#222", fill: null, lineWidth: 2 });
          return { type: "group", children: [
            { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: st },
            { type: "line", shape: { x1: lo[0] - 8, y1: lo[1], x2: lo[0] + 8, y2: lo[1] }, style: st },
            { type: "line", shape: { x1: hi[0] - 8, y1: hi[1], x2: hi[0] + 8, y2: hi[1] }, style: st }] }; },
          data: s.data.map(function (v, j) { return [j, s.low[j], s.high[j]]; }), z: 10 }] };
  }

  function lines(spec) {
    var pct = function (v) { return v === null || v === undefined ? "\u2013" : (v * 100).toFixed(1) + "%"; };
    return { color: COLORS, tooltip: { trigger: "axis", valueFormatter: spec.percent ? pct : undefined },
      legend: { type: "scroll", top: 0 }, grid: { left: 52, right: 20, top: 34, bottom: 30 },
      xAxis: { type: "category", data: spec.x, boundaryGap: !!spec.bars },
      yAxis: { type: "value", axisLabel: spec.percent ? { formatter: function (v) { return Math.round(v * 100) + "%"; } } : {} },
      series: spec.series.map(function (s) {
        return { name: s.name, type: spec.bars ? "bar" : "line", data: s.data, stack: spec.stacked ? "all" : undefined,
          symbol: "circle", symbolSize: 4, barMaxWidth: 40,
          markPoint: s.marks ? { symbol: "diamond", symbolSize: 12, itemStyle: { color: "#d62728" }, label: { show: false },
            data: s.data.map(function (v, j) { return s.marks[j] ? { coord: [j, v] } : null; }).filter(function (x) { return x; }) } : undefined };
      }) };
  }

  function sankey(spec) {
    return { tooltip: { trigger: "item" },
      series: [{ type: "sankey", left: 10, right: 90, top: 10, bottom: 10, nodeGap: 10, emphasis: { focus: "adjacency" },
        data: spec.nodes.map(function (n) { return { name: n.name, label: { formatter: n.label } }; }),
        links: spec.links, lineStyle: { color: "gradient", opacity: 0.35 },
        label: { fontSize: 11 } }] };
  }

  var KINDS = { band: band, bar: bar, funnel: funnel, heatmap: heatmap, interval: interval, lines: lines, sankey: sankey };

  function spark(el) {
    var pts = JSON.parse(el.getAttribute("data-spark"));
    var c = echarts.init(el, null, { renderer: "svg" });
    c.setOption({ animation: false, grid: { left: 2, right: 2, top: 2, bottom: 2 },
      xAxis: { type: "category", show: false, data: pts.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", show: false, scale: true },
      series: [{ type: "line", data: pts.map(function (p) { return p[1]; }), symbol: "none",
        lineStyle: { width: 1.5, color: "#2f6fdf" }, areaStyle: { opacity: 0.08 } }] });
    charts.push(c);
  }

  function render(data) {
    (data.blocks || []).forEach(function (b, i) {
      if (b.type !== "chart") return;
      var el = document.getElementById("chart-" + data.page + "-" + i);
      var make = KINDS[b.chart.kind];
      if (!el || !make) return;
      var c = echarts.init(el, null, { renderer: "canvas" });
      var option = make(b.chart);
      option.animation = false;  // charts are complete at once (screenshots, printed reports)
      c.setOption(option);
      el.setAttribute("data-rendered", b.chart.kind);
      charts.push(c);
    });
  }

  document.querySelectorAll("script.page-data").forEach(function (s) { render(JSON.parse(s.textContent)); });
  document.querySelectorAll(".spark").forEach(spark);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.cxlensCharts = charts;
})();
