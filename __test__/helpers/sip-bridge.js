'use strict';

// A SIP bridge for tests with SIP phones (sipp, baresip): a Kamailio, SIP.js and our SIP entry
// for the whole file, and user agents whose calls run on our connections.

const { ToneSource } = require('../../dist');
const { startKamailio } = require('./kamailio');
const { loadSip, makeUserAgent } = require('./sip');
const { later, own } = require('./later');

/** Kamailio, SIP.js and gst-peerconnection/sip, started before the file's tests and stopped after. */
function useSipWorld() {
  const world = {};
  beforeAll(async () => {
    world.kamailio = await startKamailio();
    world.sip = await loadSip();
    world.gstSip = await import('../../dist/sip/index.mjs');
  }, 30000);
  afterAll(async () => {
    await world.kamailio?.stop();
  });
  return world;
}

/**
 * A registered user agent whose calls run on `config`'s connections, sending a `frequency`
 * tone. It answers every INVITE it can take and refuses the others with 488 before accepting
 * (offerRefusal). Returns the agent, the handlers it made and the invitations it got.
 */
async function sipBridge(world, { user, config, frequency }) {
  const tone = own(new ToneSource({ frequency, amplitude: 0.5 }));
  const factory = world.gstSip.sessionDescriptionHandlerFactory({ media: () => tone.track, peerConnectionConfiguration: config });
  const handlers = [];
  const invitations = [];
  const agent = await makeUserAgent(world.sip, {
    wsUrl: world.kamailio.wsUrl,
    user,
    sessionDescriptionHandlerFactory: (session, options) => {
      const sdh = factory(session, options);
      handlers.push(sdh);
      return sdh;
    },
    delegate: {
      onInvite: (invitation) => {
        invitations.push(invitation);
        const refusal = world.gstSip.offerRefusal(invitation, config);
        if (refusal) invitation.reject(refusal);
        else invitation.accept();
      },
    },
  });
  later(() => agent.stop());
  return { agent, handlers, invitations };
}

module.exports = { useSipWorld, sipBridge };
