/*
 * Stands in for /resources/testdriver.js + testdriver-vendor.js (the WebDriver bridge a WPT
 * runner provides), which need a document. Only what the vendored tests use exists:
 * permissions are always granted here (getUserMedia never prompts), as WPT runners that
 * cannot set permissions default to "granted"; asking for "denied" reports the same
 * "not implemented" error those runners give, which permission-helper.js understands.
 */
(function () {
  'use strict';
  window.test_driver_internal = {
    set_permission(descriptor, state) {
      if (state === 'granted') return Promise.resolve();
      return Promise.reject('set_permission not implemented');
    },
  };
  window.test_driver = {
    set_permission(descriptor, state, context = null) {
      return window.test_driver_internal.set_permission(descriptor, state, context);
    },
    bless(intent, action) {
      return Promise.resolve().then(() => (typeof action === 'function' ? action() : undefined));
    },
  };
})();
