'use strict';

// SIP.js 0.21 helpers for the jest tests (CommonJS).
//
// SIP.js 0.21 is ESM only, and jest runs these tests as CommonJS through its own module
// system, where `import()` only works when Node runs with --experimental-vm-modules.
// loadSip() therefore tries two ways:
//   1. jest's own `import('sip.js')` (works under NODE_OPTIONS=--experimental-vm-modules):
//      SIP.js then lives in the test's realm (same globalThis as the test);
//   2. otherwise Node's own ESM loader, through a function compiled in Node's main context
//      (vm.runInThisContext + importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
//      Node >= 20.12; prints one "ExperimentalWarning"). SIP.js then lives in Node's main realm,
//      whose globalThis is NOT the test's globalThis (jest gives each test file its own context).
// Globals that SIP.js itself reads (WebSocket; later RTCPeerConnection, window, ...) must be set
// on the realm SIP.js runs in: use sipGlobalThis() or setSipGlobals({...}), which handle both
// cases. loadSip() sets WebSocket (from the `ws` package) there if it is absent.

const path = require('path');
const { pathToFileURL } = require('url');
const vm = require('vm');

let loaded = null; // Promise<{ sip, realm }>
let loadedRealm = null; // the globalThis SIP.js runs in, once loaded

function mainContextImporter() {
  const loader = vm.constants && vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  if (!loader) {
    throw new Error(
      'cannot load the ESM package sip.js from jest: run jest with ' +
        'NODE_OPTIONS=--experimental-vm-modules (or use Node >= 20.12)',
    );
  }
  return vm.runInThisContext('(specifier) => import(specifier)', {
    filename: path.join(__dirname, 'sip-esm-loader.js'),
    importModuleDynamically: loader,
  });
}

async function doLoad() {
  let sip;
  let realm;
  try {
    // jest's ESM support (only with --experimental-vm-modules).
    sip = await import('sip.js');
    realm = globalThis;
  } catch (err) {
    const msg = String(err && err.message);
    if (!/experimental-vm-modules|dynamic import callback/i.test(msg)) throw err;
    const importer = mainContextImporter();
    sip = await importer(pathToFileURL(require.resolve('sip.js')).href);
    realm = vm.runInThisContext('globalThis');
    if (typeof realm.WebSocket !== 'function') {
      // Load ws in the same realm as SIP.js.
      const ws = await importer(pathToFileURL(require.resolve('ws')).href);
      realm.WebSocket = ws.default || ws.WebSocket;
    }
  }
  if (typeof realm.WebSocket !== 'function') {
    realm.WebSocket = require('ws');
  }
  loadedRealm = realm;
  return { sip, realm };
}

/** Load SIP.js (ESM) and make sure a WebSocket global exists where it runs. */
async function loadSip() {
  if (!loaded) {
    loaded = doLoad().catch((err) => {
      loaded = null;
      throw err;
    });
  }
  return (await loaded).sip;
}

/** The globalThis SIP.js runs in (the test's own, or Node's main realm). Call after loadSip(). */
function sipGlobalThis() {
  if (!loadedRealm) throw new Error('call (and await) loadSip() first');
  return loadedRealm;
}

/** Define globals both on the test's globalThis and on SIP.js's realm (e.g. RTCPeerConnection). */
function setSipGlobals(values) {
  const realm = sipGlobalThis();
  for (const [k, v] of Object.entries(values)) {
    globalThis[k] = v;
    realm[k] = v;
  }
}

/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * A started and registered SIP.js UserAgent (domain 127.0.0.1, over WebSocket).
 * @param {object} sip the module returned by loadSip()
 * @param {object} o
 * @param {string} o.wsUrl e.g. ws://127.0.0.1:PORT (from startKamailio())
 * @param {string} o.user user part: the AoR is sip:<user>@127.0.0.1
 * @param {Function} [o.sessionDescriptionHandlerFactory]
 * @param {object} [o.delegate] UserAgentDelegate (onInvite, onMessage, ...)
 * @param {object} [o.userAgentOptions] extra UserAgentOptions (override the defaults)
 * @param {object} [o.registererOptions] extra RegistererOptions
 * @param {number} [o.timeoutMs=10000]
 * @returns {Promise<{ua, registerer, uri: string, stop: () => Promise<void>}>}
 */
async function makeUserAgent(sip, o) {
  const { wsUrl, user } = o;
  const timeoutMs = o.timeoutMs ?? 10000;
  const uri = `sip:${user}@127.0.0.1`;
  const options = {
    uri: sip.UserAgent.makeURI(uri),
    transportOptions: { server: wsUrl },
    logLevel: 'error',
    ...(o.sessionDescriptionHandlerFactory
      ? { sessionDescriptionHandlerFactory: o.sessionDescriptionHandlerFactory }
      : {}),
    ...(o.delegate ? { delegate: o.delegate } : {}),
    ...(o.userAgentOptions || {}),
  };
  const ua = new sip.UserAgent(options);
  const registerer = new sip.Registerer(ua, o.registererOptions || {});

  const stop = async () => {
    try {
      if (registerer.state === sip.RegistererState.Registered) {
        const unregistered = new Promise((resolve) => {
          const l = (s) => {
            if (s !== sip.RegistererState.Registered) {
              registerer.stateChange.removeListener(l);
              resolve();
            }
          };
          registerer.stateChange.addListener(l);
        });
        await registerer.unregister();
        await withTimeout(unregistered, 3000, `unregister ${uri}`).catch(() => {});
      }
    } catch {
      // best effort: the transport may already be gone
    }
    await ua.stop().catch(() => {});
  };

  try {
    await withTimeout(ua.start(), timeoutMs, `connect ${uri} to ${wsUrl}`);
    const registered = new Promise((resolve, reject) => {
      const l = (s) => {
        if (s === sip.RegistererState.Registered) {
          registerer.stateChange.removeListener(l);
          resolve();
        } else if (s === sip.RegistererState.Terminated) {
          registerer.stateChange.removeListener(l);
          reject(new Error(`registerer for ${uri} terminated`));
        }
      };
      registerer.stateChange.addListener(l);
      registerer
        .register({
          requestDelegate: {
            onReject: (res) =>
              reject(new Error(`REGISTER ${uri} rejected: ${res.message.statusCode} ${res.message.reasonPhrase}`)),
          },
        })
        .catch(reject);
    });
    await withTimeout(registered, timeoutMs, `register ${uri}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { ua, registerer, uri, stop };
}

module.exports = { loadSip, sipGlobalThis, setSipGlobals, makeUserAgent, withTimeout };
