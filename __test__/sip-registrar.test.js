'use strict';

// Kamailio (registrar + proxy on loopback) with SIP.js 0.21 UAs over WebSocket: registration,
// and routing of a MESSAGE between two WebSocket clients. No media involved.

const { startKamailio } = require('./helpers/kamailio');
const { loadSip, makeUserAgent, withTimeout } = require('./helpers/sip');

jest.setTimeout(30000);

let kamailio;
let sip;
const agents = [];

beforeAll(async () => {
  kamailio = await startKamailio();
  sip = await loadSip();
});

afterAll(async () => {
  for (const a of agents.splice(0)) await a.stop();
  if (kamailio) await kamailio.stop();
});

/** Send a MESSAGE and resolve with the final response's status code (2xx or not). */
function sendMessage(fromUa, target, body) {
  return new Promise((resolve, reject) => {
    const messager = new sip.Messager(fromUa, sip.UserAgent.makeURI(target), body, 'text/plain');
    messager
      .message({
        requestDelegate: {
          onAccept: (res) => resolve({ status: res.message.statusCode, reason: res.message.reasonPhrase }),
          onReject: (res) => resolve({ status: res.message.statusCode, reason: res.message.reasonPhrase }),
        },
      })
      .catch(reject);
  });
}

describe('SIP.js over WebSocket through Kamailio', () => {
  let alice;
  let bob;
  let bobInbox;

  beforeAll(async () => {
    bobInbox = [];
    const bobGotMessage = [];
    bob = await makeUserAgent(sip, {
      wsUrl: kamailio.wsUrl,
      user: 'bob',
      delegate: {
        onMessage: (message) => {
          bobInbox.push({
            body: message.request.body,
            from: message.request.from.uri.toString(),
            contentType: message.request.getHeader('Content-Type'),
          });
          message.accept();
          for (const cb of bobGotMessage.splice(0)) cb();
        },
      },
    });
    agents.push(bob);
    bob.waitForMessage = () => new Promise((resolve) => bobGotMessage.push(resolve));
    alice = await makeUserAgent(sip, { wsUrl: kamailio.wsUrl, user: 'alice' });
    agents.push(alice);
  });

  test('kamailio listens on loopback ports given at start', () => {
    expect(kamailio.wsUrl).toBe(`ws://127.0.0.1:${kamailio.wsPort}`);
    expect(kamailio.udpPort).toBeGreaterThan(0);
    expect(kamailio.udpPort).not.toBe(kamailio.wsPort);
    expect(kamailio.pid).toBeGreaterThan(0);
  });

  test('both user agents register over WebSocket', () => {
    expect(alice.registerer.state).toBe(sip.RegistererState.Registered);
    expect(bob.registerer.state).toBe(sip.RegistererState.Registered);
    expect(alice.ua.isConnected()).toBe(true);
    expect(bob.ua.isConnected()).toBe(true);
  });

  test('a MESSAGE from alice reaches bob through the proxy', async () => {
    const got = bob.waitForMessage();
    const res = await withTimeout(sendMessage(alice.ua, 'sip:bob@127.0.0.1', 'hello bob'), 10000, 'MESSAGE');
    expect(res.status).toBe(200);
    await withTimeout(got, 5000, 'bob onMessage');
    expect(bobInbox).toHaveLength(1);
    expect(bobInbox[0].body).toBe('hello bob');
    expect(bobInbox[0].from).toBe('sip:alice@127.0.0.1');
    expect(bobInbox[0].contentType).toMatch(/^text\/plain/);
  });

  test('a MESSAGE to an unregistered user is rejected with 404', async () => {
    const res = await withTimeout(sendMessage(alice.ua, 'sip:nobody@127.0.0.1', 'anyone?'), 10000, 'MESSAGE');
    expect(res.status).toBe(404);
  });

  test('after a user unregisters, a MESSAGE to them gets 404', async () => {
    const carol = await makeUserAgent(sip, { wsUrl: kamailio.wsUrl, user: 'carol' });
    agents.push(carol);
    const ok = await withTimeout(sendMessage(alice.ua, 'sip:carol@127.0.0.1', 'hi carol'), 10000, 'MESSAGE');
    expect(ok.status).toBe(200);
    await carol.stop();
    agents.splice(agents.indexOf(carol), 1);
    const res = await withTimeout(sendMessage(alice.ua, 'sip:carol@127.0.0.1', 'gone?'), 10000, 'MESSAGE');
    expect(res.status).toBe(404);
  });
});
