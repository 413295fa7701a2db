'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription-offer.html');
