'use strict';

require('./runner/suite')('RTCPeerConnection-transceivers.https.html');
