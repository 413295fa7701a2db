'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription-offer.html');
