/*
 * gst-peerconnection/sip: SIP.js integration. This entry is ESM because SIP.js is; it is
 * the only part of the package that imports sip.js.
 */

export { sessionDescriptionHandlerFactory } from './sessionDescriptionHandlerFactory.mjs'
export type { GstSessionDescriptionHandlerFactoryOptions, LocalMedia } from './sessionDescriptionHandlerFactory.mjs'
export { GstSessionDescriptionHandler } from './SessionDescriptionHandler.mjs'
export { offerRefusal } from './offerRefusal.mjs'
export type { OfferRefusal } from './offerRefusal.mjs'
export { SipTransport } from './transport/SipTransport.mjs'
export type { SipTransportOptions, SipTransportStats, SipTransportDrops, ListenAddress, ScreenedRequest, ScreenAnswer } from './transport/SipTransport.mjs'
