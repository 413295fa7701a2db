'use strict';

require('./runner/suite')('RTCPeerConnection-addTransceiver.https.html');
