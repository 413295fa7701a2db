'use strict';

// Jest globalSetup: a GLib/GStreamer CRITICAL in the test process is a bug of ours (a NULL
// unref, a wrong-state call) even when the test around it passes, so it aborts the run
// (G_DEBUG=fatal-criticals; a core dump gives the backtrace). GLib reads G_DEBUG once, as
// it loads with the addon, so the addon is loaded here, in jest's own process (where the
// --runInBand tests run; a test file's process.env is only a copy), with the variable set
// for that moment only: the Chromium, Kamailio and sipp processes the tests start keep
// their defaults.
module.exports = async () => {
  if (process.env.G_DEBUG !== undefined) return;
  process.env.G_DEBUG = 'fatal-criticals';
  require('../../dist');
  delete process.env.G_DEBUG;
};
