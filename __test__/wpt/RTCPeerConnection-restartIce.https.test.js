'use strict';

require('./runner/suite')('RTCPeerConnection-restartIce.https.html');
