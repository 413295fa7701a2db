'use strict';

require('./runner/suite')('RTCPeerConnection-description-attributes-timing.https.html');
