/* A statsd (Etsy) backend for tests: every flush appends one JSON line with what was aggregated. */
const fs = require('fs');

exports.init = function (startupTime, config, events) {
  const path = config.jsonBackendPath;
  events.on('flush', function (timestamp, metrics) {
    const out = { timestamp: timestamp, counters: metrics.counters, gauges: metrics.gauges, timers: metrics.timers };
    fs.appendFileSync(path, JSON.stringify(out) + '\n');
  });
  return true;
};
