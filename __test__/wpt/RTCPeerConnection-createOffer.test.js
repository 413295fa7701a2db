'use strict';

require('./runner/suite')('RTCPeerConnection-createOffer.html');
